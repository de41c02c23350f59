/**
 * A behaviour engine on a fake clock and a memory store, and `send`, which inspects a request
 * and observes its outcome as the gateway would. Shared by the behaviour layer's tests.
 */
import { expect } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { toEffect } from '../../src/engine/effect.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { Store } from '../../src/store/store.js'
import { config, raw, type RawInit } from './engine.js'

export const T0 = 1_800_000_000_000
export const CHROME = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'en-GB,en;q=0.9',
  'accept-encoding': 'gzip, br',
  'sec-fetch-mode': 'cors',
  'sec-fetch-site': 'same-origin',
}

/** `store`: the memory store by default; the Redis suites pass theirs. */
export function setup<S extends Store = MemoryStore>(
  behavior: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  store: S = new MemoryStore() as unknown as S,
) {
  let now = T0
  const clock = { now: () => now }
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [
        { path: '/*', upstream: 'app' },
        { path: '/api/products/:id', upstream: 'app' },
      ],
      identity: { session: { cookie: 'sid' } },
      behavior,
      ...extra,
    }),
    { clock, store },
  )
  return {
    engine,
    store,
    now: () => now,
    advance: (ms: number) => (now += ms),
    /** Sends a request and observes `status`; returns the decision. */
    async send(line: string, init: RawInit = {}, status = 200): Promise<Decision> {
      const { ctx, refusal } = engine.prepare(
        raw(line, { ...init, headers: { ...CHROME, ...init.headers } }),
      )
      expect(refusal).toBeUndefined()
      // session facet: computed by the facet getter, as limits would
      if (init.headers?.cookie) ctx.identity.session = /sid=([^;]+)/.exec(init.headers.cookie)?.[1]
      const d = await engine.inspect(ctx)
      // As the gateway observes it: the backend's status for what it forwards, else the status
      // of the gateway's own answer (a refusal, a challenge, a fake).
      const effect = toEffect(d, ctx.id)
      engine.observe(
        ctx,
        effect.kind === 'respond'
          ? { status: effect.status, ms: 1, byGateway: true }
          : { status, ms: 1, byGateway: false },
        d,
      )
      return d
    },
  }
}

export const sid = (s: string, ip = '203.0.113.10'): RawInit => ({
  headers: { cookie: `sid=${s}` },
  ip,
})
export const rule = (d: Decision) => d.verdicts.map((v) => v.rule)

/**
 * Risk bots ran up on a browser build from `ip`, as the behaviour layer records it: on the
 * build, and on the build on that network (IPv4: the address), where it counts in full.
 */
export async function buildRisk(
  store: Store,
  fp: string,
  ip: string,
  n: number,
  now: number,
): Promise<void> {
  await store.addScore(`risk:fingerprint:${fp}`, n, 600_000, now)
  await store.addScore(`risk:fingerprint:${fp}@${ip}`, n, 600_000, now)
}

/** Products by fingerprint: 3 distinct ids a minute, then 429 (the relay suites' limit). */
export const sweepLimit = {
  limits: {
    rules: [
      {
        id: 'product-sweep',
        paths: ['/api/products/:id'],
        key: ['fingerprint'],
        count: 'distinct',
        distinct: 'param:id',
        limit: 3,
        window: '60s',
      },
    ],
  },
}

/**
 * A browser build's penalty on one network, then one earned on another by someone on the same
 * build: the first must still hold. Run on each store (the stored value is merged, not
 * replaced); a failed expectation throws.
 */
export async function penaltyKeptPerNetwork(t: ReturnType<typeof setup>): Promise<void> {
  const { ctx } = t.engine.prepare(raw('GET /api/products/1', { headers: CHROME, ip: '192.0.2.9' }))
  await t.engine.inspect(ctx)
  const fp = ctx.identity.fingerprint!
  // 0.6 × 300 = 180 on the build, run up on 198.51.100.1: the bot there is deceived, for 15
  // minutes.
  await buildRisk(t.store, fp, '198.51.100.1', 300, t.now())
  const bot = { ip: '198.51.100.1' }
  expect((await t.send('GET /api/products/2', bot)).action).toBe('deceive')
  // Five minutes on, the build's risk has decayed to 0.6 × 212 = 127: throttle level, but
  // the deceive penalty holds the bot.
  t.advance(5 * 60_000)
  const held = await t.send('GET /api/products/3', bot)
  expect([held.action, held.decisive?.rule]).toEqual(['deceive', 'behavior.penalty.deceive'])
  // Elsewhere, the build's risk counts up to the shared facets' cap (30): nothing.
  expect((await t.send('GET /api/products/4', { ip: '203.0.113.61' })).action).toBe('allow')
  // Someone on the same build on another network runs up as much there: throttled, and
  // penalised there for 5 minutes.
  await buildRisk(t.store, fp, '203.0.113.60', 212, t.now())
  const other = await t.send('GET /api/products/4', { ip: '203.0.113.60' })
  expect([other.action, other.decisive?.rule]).toEqual(['throttle', 'behavior.risk'])
  expect((await t.send('GET /api/products/5', { ip: '203.0.113.60' })).decisive?.rule).toBe(
    'behavior.penalty.throttle',
  )
  // The bot's penalty is still its own.
  const still = await t.send('GET /api/products/6', bot)
  expect([still.action, still.decisive?.rule]).toEqual(['deceive', 'behavior.penalty.deceive'])
}
