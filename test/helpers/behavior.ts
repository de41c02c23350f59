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
