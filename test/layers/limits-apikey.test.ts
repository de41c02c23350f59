/**
 * `apiKey: unproven` — a route-wide rule against API-key guessing holds the guessers and never
 * an integration whose key has worked (red team 9: 50 bad keys every 10 minutes shut a partner
 * with the real key out).
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { secretDigest } from '../../src/identity/facets.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

function setup(rule: Record<string, unknown> = {}) {
  const store = new MemoryStore()
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      identity: { apiKey: { header: 'x-api-key' } },
      limits: {
        rules: [
          {
            id: 'bad-keys-route',
            paths: ['/v1/*'],
            key: ['route'],
            count: 'outcomes',
            outcomes: [401],
            limit: 3,
            window: '10m',
            apiKey: 'unproven',
            ...rule,
          },
        ],
      },
    }),
    { clock: { now: () => 1_800_000_000_000 }, store },
  )
  return {
    store,
    async send(key: string | undefined, status: number): Promise<Decision> {
      const init: RawInit = key === undefined ? {} : { headers: { 'x-api-key': key } }
      const { ctx, refusal } = engine.prepare(raw('GET /v1/documents', init))
      if (refusal) return { action: refusal.action, verdicts: [refusal], decisive: refusal }
      const d = await engine.inspect(ctx)
      engine.observe(ctx, { status, ms: 1, byGateway: false }, d)
      return d
    },
  }
}

describe('limits apiKey: unproven', () => {
  it('a key that has worked is not counted, nor refused, once guessers have filled the rule', async () => {
    const t = setup()
    expect((await t.send('dk_acme_4711', 200)).action).toBe('allow') // the partner, proven
    for (let i = 0; i < 3; i++) expect((await t.send(`dk_acme_000${i}`, 401)).action).toBe('allow')
    expect((await t.send('dk_acme_0003', 401)).action).toBe('throttle')
    expect((await t.send(undefined, 401)).action).toBe('throttle') // no key: unproven too
    for (let i = 0; i < 5; i++) expect((await t.send('dk_acme_4711', 200)).action).toBe('allow')
    // The key is remembered by its digest, never as sent.
    const now = 1_800_000_000_000
    expect(await t.store.flagged([`proven:${secretDigest('dk_acme_4711')}`], now)).toEqual(['1'])
    expect(await t.store.flagged([`proven:${secretDigest('dk_acme_0001')}`], now)).toEqual([
      undefined,
    ])
  })

  it('a key that never worked is counted like any guess', async () => {
    const t = setup()
    for (let i = 0; i < 3; i++) await t.send('dk_acme_0001', 401)
    expect((await t.send('dk_acme_0001', 401)).action).toBe('throttle')
  })

  it('cannot be combined with device: unknown', () => {
    expect(() => setup({ device: 'unknown' })).toThrow(/cannot be combined with device: unknown/)
  })
})
