/**
 * The behaviour layer on a real Redis: its store calls answer with promises, so every request
 * is judged once they resolve (the path the memory store's suites never take). What must hold
 * there as in memory: a relay links a new identity to the refused one, and a browser build's
 * penalty on one network survives one earned on another (the stored value is merged, not
 * replaced).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Decision } from '../../src/engine/types.js'
import { RedisStore } from '../../src/store/redis.js'
import { penaltyKeptPerNetwork, setup, sweepLimit } from '../helpers/behavior.js'
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis.js'

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'

const relayed = (d: Decision) =>
  d.verdicts.some((v) => (v.data as { signals?: Record<string, number> })?.signals?.relay)

describeRedis('behavior on Redis', () => {
  let redis: RedisServer
  const stores: RedisStore[] = []
  beforeAll(async () => {
    redis = await startRedis()
  }, 30_000)
  afterAll(async () => {
    for (const s of stores) await s.close()
    await redis?.stop()
  })
  const onRedis = async (behavior: Record<string, unknown>, extra: Record<string, unknown>) => {
    const store = new RedisStore({
      url: redis.url,
      timeoutMs: 500,
      prefix: `b${Math.random().toString(36).slice(2)}:`,
    })
    stores.push(store)
    await store.ready()
    return setup(behavior, extra, store)
  }

  it('links a new identity that retries the refused request and goes on (relay)', async () => {
    const t = await onRedis({}, sweepLimit)
    let d: Decision | undefined
    for (const id of [1, 2, 3, 4]) {
      d = await t.send(`GET /api/products/${id}`, { ip: '198.51.100.1' })
      t.advance(200)
    }
    expect(d!.action).toBe('throttle')
    t.advance(2_000)
    const next = { ip: '203.0.113.77', headers: { 'user-agent': FIREFOX } }
    expect(relayed(await t.send('GET /api/products/4', next))).toBe(false)
    expect(relayed(await t.send('GET /api/products/5', next))).toBe(true)
  })

  it("keeps a browser build's penalty on one network when another network earns one", async () => {
    await penaltyKeptPerNetwork(await onRedis({}, {}))
  })
})
