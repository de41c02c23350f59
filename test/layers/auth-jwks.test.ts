/**
 * Keys from a JWKS URL: fetched once and cached, refetched for a new kid (rotation) at most once
 * per cooldown, refreshed in the background, served stale (with an event) while the issuer is
 * unreachable, and dropped — with the tokens they verified — once the issuer stops publishing
 * them.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { NoticeMessage } from '../../src/telemetry/channels.js'
import { config, raw } from '../helpers/engine.js'
import { sign, startJwksServer, testKey, type JwksServer, type TestKey } from '../helpers/oidc.js'

const T0 = 1_800_000_000_000
const ISS = 'https://idp.test'

let k1: TestKey
let k2: TestKey
beforeAll(async () => {
  k1 = await testKey('RS256', 'k1')
  k2 = await testKey('ES256', 'k2')
})

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

async function setup(
  issuer: Record<string, unknown> = {},
  rule: Record<string, unknown> = {},
  cache: Record<string, unknown> = {},
) {
  const jwks: JwksServer = await startJwksServer([k1.jwk])
  let now = T0
  const engine: Engine = createEngine(
    config({
      auth: {
        issuers: [
          {
            issuer: ISS,
            audience: 'shop-api',
            jwksUri: jwks.url,
            refreshInterval: '10m',
            cooldown: '30s',
            maxStale: '1h',
            fetchTimeout: '1s',
            ...issuer,
          },
        ],
        rules: [{ id: 'api', paths: ['/api/*'], ...rule }],
        cache,
      },
    }),
    { clock: { now: () => now }, store: new MemoryStore() },
  )
  const notices: NoticeMessage[] = []
  const onNotice = (m: unknown) => void notices.push(m as NoticeMessage)
  diagnostics_channel.subscribe('bulwark:notice', onNotice)
  cleanup.push(
    () => jwks.close(),
    () => engine.close(),
    () => void diagnostics_channel.unsubscribe('bulwark:notice', onNotice),
  )
  return {
    jwks,
    notices,
    advance: (ms: number) => (now += ms),
    /** A token signed now (by the test clock), valid for an hour. */
    token: (key: TestKey, claims: Record<string, unknown> = {}) =>
      sign(
        key,
        ISS,
        { exp: Math.floor(now / 1000) + 3600, ...claims },
        { now: Math.floor(now / 1000) },
      ),
    async send(token: string): Promise<Decision> {
      const { ctx } = engine.prepare(
        raw('GET /api/x', { headers: { authorization: `Bearer ${token}` } }),
      )
      return engine.inspect(ctx)
    },
    /** Lets a background refresh finish. */
    settle: () => new Promise((r) => setTimeout(r, 50)),
  }
}

describe('auth: keys from a JWKS URL', () => {
  it('fetches once, then verifies new tokens from the cache', async () => {
    const t = await setup()
    for (let i = 0; i < 5; i++)
      expect((await t.send(await t.token(k1, { sub: `u${i}` }))).action).toBe('allow')
    expect(t.jwks.fetches()).toBe(1)
  })

  it('follows a key rotation: a new kid is fetched once', async () => {
    const t = await setup()
    const old = await t.token(k1)
    expect((await t.send(old)).action).toBe('allow')
    t.jwks.setKeys([k2.jwk, k1.jwk])
    t.advance(30_000)
    const fresh = await t.token(k2)
    expect((await t.send(fresh)).action).toBe('allow')
    expect(t.jwks.fetches()).toBe(2)
    expect(t.notices.find((n) => n.kind === 'jwks-updated')).toMatchObject({
      level: 'info',
      kids: ['k2', 'k1'],
      removed: [],
    })
    expect((await t.send(old)).action).toBe('allow')
    expect(t.jwks.fetches()).toBe(2)
  })

  it('refuses a new kid within the cooldown, and accepts it after', async () => {
    const t = await setup()
    await t.send(await t.token(k1))
    t.jwks.setKeys([k2.jwk, k1.jwk])
    const fresh = await t.token(k2)
    expect((await t.send(fresh)).decisive?.reason).toBe('invalid token: no ES256 key with kid "k2"')
    t.advance(30_000)
    expect((await t.send(fresh)).action).toBe('allow')
  })

  it('drops a retired key, and the cached tokens it verified', async () => {
    const t = await setup()
    const old = await t.token(k1)
    expect((await t.send(old)).action).toBe('allow')
    t.jwks.setKeys([k2.jwk])
    t.advance(10 * 60_000 + 1) // past refreshInterval: this request starts a background refresh
    expect((await t.send(old)).action).toBe('allow')
    await t.settle()
    expect(t.jwks.fetches()).toBe(2)
    expect(t.notices.find((n) => n.kind === 'jwks-updated')).toMatchObject({ removed: ['k1'] })
    expect((await t.send(old)).decisive?.reason).toBe('invalid token: no RS256 key with kid "k1"')
    expect((await t.send(await t.token(k2))).action).toBe('allow')
  })

  it('notices a retired key even when every request is a cache hit', async () => {
    const t = await setup({}, {}, { maxAge: '1h' })
    const old = await t.token(k1)
    expect((await t.send(old)).action).toBe('allow')
    t.jwks.setKeys([k2.jwk])
    t.advance(10 * 60_000 + 1)
    expect((await t.send(old)).action).toBe('allow') // cached; starts the refresh
    await t.settle()
    expect(t.jwks.fetches()).toBe(2)
    expect((await t.send(old)).decisive?.reason).toBe('invalid token: no RS256 key with kid "k1"')
  })

  it('serves stale keys while the issuer is unreachable, with an event, up to maxStale', async () => {
    const t = await setup()
    const token = await t.token(k1)
    expect((await t.send(token)).action).toBe('allow')
    t.jwks.setDown(true)
    t.advance(11 * 60_000)
    // verified from the cache: no key needed
    expect((await t.send(token)).action).toBe('allow')
    // a new token needs the key: served stale, refresh fails in the background
    expect((await t.send(await t.token(k1, { sub: 'bob' }))).action).toBe('allow')
    await t.settle()
    const stale = t.notices.find((n) => n.kind === 'jwks-stale')
    expect(stale).toMatchObject({ level: 'warn', issuer: ISS, url: t.jwks.url, retryInMs: 30_000 })
    expect(stale?.msg).toBe(
      `cannot refresh the keys of ${ISS}; serving the 1 keys fetched 660s ago`,
    )
    // one attempt per cooldown, however many requests
    const attempts = t.jwks.fetches()
    for (let i = 0; i < 5; i++) await t.send(await t.token(k1, { sub: `x${i}` }))
    await t.settle()
    expect(t.jwks.fetches()).toBe(attempts)
    // past maxStale nothing can be verified: 503, not a 401 blaming the client's token
    t.advance(60 * 60_000)
    const d = await t.send(await t.token(k1, { sub: 'carol' }))
    expect(d.decisive).toMatchObject({ action: 'block', status: 503, rule: 'auth.api' })
    expect(d.decisive?.reason).toMatch(
      /^cannot verify tokens: keys of https:\/\/idp.test unavailable \(/,
    )
    expect(t.notices.some((n) => n.kind === 'jwks-unavailable' && n.level === 'error')).toBe(true)
    // the issuer is back: the next attempt after the cooldown recovers
    t.jwks.setDown(false)
    t.advance(30_000)
    expect((await t.send(await t.token(k1, { sub: 'dave' }))).action).toBe('allow')
  })

  it('answers 503 when the issuer was never reachable, and says so in monitor mode', async () => {
    const t = await setup({}, { mode: 'monitor' })
    t.jwks.setDown(true)
    const d = await t.send(await t.token(k1))
    expect(d).toMatchObject({ action: 'allow', wouldHave: 'block' })
    expect(d.verdicts[0]).toMatchObject({ status: 503, monitor: true })
  })
})
