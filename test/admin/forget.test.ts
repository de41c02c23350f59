/**
 * `Layer.forget` on the limits layer, the half of "unblock" that lifts rate limits: the keys
 * built from the given facets are reset in the store and dropped from the blocked memo, on the
 * memory store and on Redis, and nothing else is touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Store } from '../../src/store/store.js'
import { RedisStore } from '../../src/store/redis.js'
import { config, raw } from '../helpers/engine.js'
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis.js'

const rules = [
  { id: 'per-ip', paths: ['/api/products/:id'], key: ['ip'], limit: 2, window: '60s' },
  { id: 'per-ip-route', paths: ['/api/cart'], key: ['ip', 'route'], limit: 1, window: '60s' },
  {
    id: 'per-account',
    paths: ['/api/login'],
    key: ['account'],
    limit: 1,
    window: '60s',
    algorithm: 'gcra',
  },
]

function setup(store?: Store) {
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { account: [{ body: 'username', paths: ['/api/login'] }] },
      limits: { rules },
    }),
    store ? { store } : {},
  )
  const send = async (line: string, ip: string, json?: unknown) => {
    const { ctx } = engine.prepare(raw(line, { ip, ...(json ? { json } : {}) }))
    return (await engine.inspect(ctx)).action
  }
  const limits = engine.layers.find((l) => l.name === 'limits')!
  return { engine, send, limits }
}

function suite(make: () => Promise<Store | undefined>) {
  it('resets the keys of rules keyed on the given facets, and only those', async () => {
    const { engine, send, limits } = setup(await make())
    for (const ip of ['192.0.2.1', '192.0.2.2']) {
      await send('GET /api/products/1', ip)
      await send('GET /api/products/1', ip)
      expect(await send('GET /api/products/1', ip)).toBe('throttle')
    }
    expect(await limits.forget!({ ip: ['192.0.2.1'] })).toBe(1)
    expect(await send('GET /api/products/1', '192.0.2.1')).toBe('allow')
    expect(await send('GET /api/products/1', '192.0.2.2')).toBe('throttle')
    await engine.close()
  })

  it('finds blocked keys also built from other parts ([ip, route])', async () => {
    const { engine, send, limits } = setup(await make())
    await send('GET /api/cart', '192.0.2.3')
    expect(await send('GET /api/cart', '192.0.2.3')).toBe('throttle')
    // per-ip|192.0.2.3 (keyed on ip alone) and the blocked per-ip-route|192.0.2.3|/api/cart
    expect(await limits.forget!({ ip: ['192.0.2.3'], fingerprint: ['nothing'] })).toBe(2)
    expect(await send('GET /api/cart', '192.0.2.3')).toBe('allow')
    await engine.close()
  })

  it('resets GCRA keys on an account', async () => {
    const { engine, send, limits } = setup(await make())
    await send('POST /api/login', '192.0.2.4', { username: 'Bob' })
    expect(await send('POST /api/login', '192.0.2.5', { username: 'bob' })).toBe('throttle')
    expect(await limits.forget!({ account: ['bob'] })).toBe(1)
    expect(await send('POST /api/login', '192.0.2.6', { username: 'bob' })).toBe('allow')
    expect(await limits.forget!({ session: ['x'] })).toBe(0)
    await engine.close()
  })
}

describe('limits forget (memory store)', () => suite(async () => undefined))

describeRedis('limits forget (Redis store)', () => {
  let redis: RedisServer
  const stores: RedisStore[] = []
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()))
    await redis?.stop()
  })
  suite(async () => {
    const store = new RedisStore({
      url: redis.url,
      prefix: `f${Math.random().toString(36).slice(2)}:`,
    })
    stores.push(store)
    await store.ready()
    return store
  })
})
