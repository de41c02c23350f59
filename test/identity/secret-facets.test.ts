/**
 * Session ids and API keys are credentials: the gateway keys its limits, flags and events on a
 * digest of them, so neither a log line, a store key nor the dashboard holds one that could be
 * replayed against the API. The admin API accepts the value or the digest.
 */
import { describe, expect, it } from 'vitest'
import { facetValues } from '../../src/admin/api.js'
import { createEngine } from '../../src/engine/engine.js'
import { isSecretDigest, secretDigest } from '../../src/identity/facets.js'
import { MemoryStore } from '../../src/store/memory.js'
import { toEvent } from '../../src/telemetry/event.js'
import { config, raw } from '../helpers/engine.js'

const SESSION = 'sess-7f3a9c1e2b'
const KEY = 'live_key_3b1f0e9d8c'

describe('secret facets: session and apiKey', () => {
  it('digests a value the same way every time, distinct values apart', () => {
    const d = secretDigest(SESSION)
    expect(d).toMatch(/^~[A-Za-z0-9_-]{22}$/)
    expect(secretDigest(SESSION)).toBe(d)
    expect(secretDigest(KEY)).not.toBe(d)
    expect(isSecretDigest(d)).toBe(true)
    expect(isSecretDigest(SESSION)).toBe(false)
  })

  it('limits, events and the flags key on the digest; the raw values appear nowhere', async () => {
    const store = new MemoryStore()
    const engine = createEngine(
      config({
        upstreams: { app: { url: 'http://127.0.0.1:9' } },
        routes: [{ path: '/*', upstream: 'app' }],
        identity: { session: { cookie: 'sid' }, apiKey: { header: 'x-api-key' } },
        limits: {
          headers: 'all',
          rules: [
            { id: 'per-session', key: ['session'], limit: 2, window: '60s' },
            { id: 'per-key', key: ['apiKey'], limit: 5, window: '60s' },
          ],
        },
      }),
      { store },
    )
    const send = async () => {
      const { ctx } = engine.prepare(
        raw('GET /api/orders', { headers: { cookie: `sid=${SESSION}`, 'x-api-key': KEY } }),
      )
      const decision = await engine.inspect(ctx)
      return { ctx, decision }
    }
    await send()
    await send()
    const { ctx, decision } = await send()
    // The limit still counts one client: the third request is over the session's limit of 2.
    expect(decision.action).toBe('throttle')
    expect(decision.decisive?.rule).toBe('limits.per-session')
    expect(ctx.identity.session).toBe(secretDigest(SESSION))
    expect(ctx.identity.apiKey).toBe(secretDigest(KEY))
    const event = JSON.stringify(toEvent(ctx, decision, { status: 429, ms: 0, byGateway: true }))
    expect(event).toContain(secretDigest(SESSION))
    expect(event).not.toContain(SESSION)
    expect(event).not.toContain(KEY)
    expect(JSON.stringify(decision)).not.toContain(SESSION)
    await engine.close()
  })

  it('the admin API takes the value or its digest', () => {
    const d = secretDigest(SESSION)
    expect(facetValues({ session: SESSION })).toEqual({ session: [d] })
    expect(facetValues({ session: [d], apiKey: KEY })).toEqual({
      session: [d],
      apiKey: [secretDigest(KEY)],
    })
    // Other facets are taken as given.
    expect(facetValues({ ip: '192.0.2.1' })).toEqual({ ip: ['192.0.2.1'] })
  })
})

describe('a credential in the Authorization header', () => {
  /** One request with each of `values` in the facet's header; the decisive rule of each. */
  async function rules(identity: Record<string, unknown>, key: string, values: string[]) {
    const engine = createEngine(
      config({
        upstreams: { app: { url: 'http://127.0.0.1:9' } },
        routes: [{ path: '/*', upstream: 'app' }],
        identity,
        limits: { rules: [{ id: 'per-token', key: [key], limit: 3, window: '60s' }] },
      }),
      { store: new MemoryStore() },
    )
    const out: (string | undefined)[] = []
    for (const v of values) {
      const name = (identity[key] as { header: string }).header
      const { ctx } = engine.prepare(raw('GET /api/orders', { headers: { [name]: v } }))
      out.push((await engine.inspect(ctx)).decisive?.rule)
    }
    await engine.close()
    return out
  }
  const SPELLINGS = ['Bearer tok-1', 'bearer tok-1', 'BEARER  tok-1', 'bEaReR\ttok-1']

  it('is one identity however its scheme is spelled (apiKey)', async () => {
    expect(await rules({ apiKey: { header: 'authorization' } }, 'apiKey', SPELLINGS)).toEqual([
      undefined,
      undefined,
      undefined,
      'limits.per-token',
    ])
  })

  it('is one identity however its scheme is spelled (session from a header)', async () => {
    expect(await rules({ session: { header: 'authorization' } }, 'session', SPELLINGS)).toEqual([
      undefined,
      undefined,
      undefined,
      'limits.per-token',
    ])
  })

  it('keeps the token itself, and other headers, exactly as sent', async () => {
    const tokens = ['Bearer tok-1', 'Bearer TOK-1', 'Bearer tok-2', 'Bearer Tok-1']
    expect(await rules({ apiKey: { header: 'authorization' } }, 'apiKey', tokens)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    const keys = ['abc', 'ABC', 'Abc', 'aBc']
    expect(await rules({ apiKey: { header: 'x-api-key' } }, 'apiKey', keys)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ])
  })
})
