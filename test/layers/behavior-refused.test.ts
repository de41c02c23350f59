/**
 * Requests an earlier layer refused before the behaviour layer ran (an auth 403, a limit's
 * block) still count against the client: a bot probing admin routes with a customer's token
 * must build up risk, not get an honest 403 forever.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'
import { sign, testKey, type TestKey } from '../helpers/oidc.js'

const T0 = 1_800_000_000_000
const ISS = 'https://idp.test'
let key: TestKey
beforeAll(async () => {
  key = await testKey('ES256', 'ec-1')
})

function setup(extra: Record<string, unknown>, behavior: Record<string, unknown> = {}) {
  let now = T0
  const store = new MemoryStore()
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      behavior: { cooldown: '1s', ...behavior },
      ...extra,
    }),
    { clock: { now: () => now }, store },
  )
  return {
    store,
    advance: (ms: number) => (now += ms),
    async send(line: string, init: RawInit = {}): Promise<Decision> {
      const { ctx } = engine.prepare(raw(line, init))
      const d = await engine.inspect(ctx)
      const refused = d.action !== 'allow' && d.action !== 'log' && d.action !== 'delay'
      engine.observe(
        ctx,
        { status: refused ? (d.decisive?.status ?? 403) : 200, ms: 1, byGateway: refused },
        d,
      )
      return d
    },
  }
}

const riskOf = (d: Decision) =>
  (d.verdicts.find((v) => v.rule.startsWith('behavior.'))?.data as { score?: number } | undefined)
    ?.score ?? 0

describe('behavior: requests refused before it ran', () => {
  it("a customer's token on admin routes adds the forbidden signal, until the client is refused by its risk", async () => {
    const t = setup({
      auth: {
        issuers: [{ issuer: ISS, audience: 'shop-api', keys: [key.jwk] }],
        rules: [{ id: 'admin', paths: ['/api/admin/*'], require: { scopes: ['admin_access'] } }],
      },
    })
    const token = await sign(key, ISS, { sub: 'alice', scope: 'shop' }, { now: T0 / 1000 })
    const as = { headers: { authorization: `Bearer ${token}` }, ip: '198.51.100.4' }
    const rules: string[] = []
    for (let i = 0; i < 8; i++) {
      const d = await t.send('GET /api/admin/users', as)
      rules.push(d.decisive!.rule)
      t.advance(1_500) // past the cooldown: the signal may fire again
    }
    // auth answers first every time; the behaviour layer never ran on these requests…
    expect(new Set(rules)).toEqual(new Set(['auth.admin']))
    // …but the refusals counted: the same client's next ordinary request carries the risk.
    const next = await t.send('GET /api/products', as)
    expect(riskOf(next)).toBeGreaterThanOrEqual(100)
    expect(next.action).toBe('throttle')
    // (this route needs no token, so the client is known by its fingerprint here; the account
    // carries the same risk wherever its token is verified)
    expect(next.decisive!.reason).toMatch(/risk of fingerprint/)
    expect(t.store.scores(['risk:account:alice'], 10 * 60_000, T0)[0]).toBeGreaterThan(150)
  })

  it('signals.forbidden: 0 turns it off', async () => {
    const t = setup(
      {
        auth: {
          issuers: [{ issuer: ISS, audience: 'shop-api', keys: [key.jwk] }],
          rules: [{ id: 'admin', paths: ['/api/admin/*'], require: { scopes: ['admin_access'] } }],
        },
      },
      { signals: { forbidden: 0 } },
    )
    const token = await sign(key, ISS, { sub: 'bob', scope: 'shop' }, { now: T0 / 1000 })
    const as = { headers: { authorization: `Bearer ${token}` } }
    for (let i = 0; i < 8; i++) {
      await t.send('GET /api/admin/users', as)
      t.advance(1_500)
    }
    expect((await t.send('GET /api/products', as)).action).toBe('allow')
  })

  it('forged tokens (a bad signature) count as tampering; expired ones do not', async () => {
    const auth = {
      issuers: [{ issuer: ISS, audience: 'shop-api', keys: [key.jwk] }],
      rules: [{ id: 'account', paths: ['/api/account'] }],
    }
    // Same kid, another key: the signature cannot verify.
    const forger = await testKey('ES256', 'ec-1')
    const forged = await sign(forger, ISS, { sub: 'admin' }, { now: T0 / 1000 })
    const expired = await sign(key, ISS, { sub: 'carol' }, { now: T0 / 1000 - 3_600 })
    const send = async (token: string, ip: string) => {
      const t = setup({ auth })
      const as = { headers: { authorization: `Bearer ${token}` }, ip }
      for (let i = 0; i < 8; i++) {
        const d = await t.send('GET /api/account', as)
        expect(d.decisive).toMatchObject({ rule: 'auth.account', status: 401 })
        t.advance(1_500)
      }
      return riskOf(await t.send('GET /api/products', { ip }))
    }
    // 8 × 15 on the fingerprint (0.6) and the IP: ~70.
    expect(await send(forged, '198.51.100.70')).toBeGreaterThan(60)
    expect(await send(expired, '198.51.100.71')).toBe(0)
  })

  it('a limit that blocks (and so stops the pipeline) still adds the limit signal', async () => {
    const t = setup({
      limits: {
        rules: [
          {
            id: 'hard',
            paths: ['/api/search'],
            key: ['ip'],
            limit: 1,
            window: '1h',
            action: 'block',
          },
        ],
      },
    })
    const ip = { ip: '203.0.113.40' }
    expect((await t.send('GET /api/search', ip)).action).toBe('allow')
    for (let i = 0; i < 12; i++) {
      expect((await t.send('GET /api/search', ip)).decisive?.rule).toBe('limits.hard')
      t.advance(1_500)
    }
    // 12 × 10 on the fingerprint (counted at 0.6) and the IP: a route the limit does not
    // cover shows it.
    const d = await t.send('GET /api/products', ip)
    expect(riskOf(d)).toBeGreaterThan(60)
    expect(d.decisive?.rule).toBe('behavior.risk')
  })
})
