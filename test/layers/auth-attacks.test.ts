/**
 * Every token attack the issue lists, as real signed tokens against the engine: each must be
 * refused at the edge, with the reason an operator would want in the log.
 */
import { KeyObject, sign as cryptoSign } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { base64url, exportSPKI, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RawRequest } from '../../src/engine/context.js'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw } from '../helpers/engine.js'
import { sign, startJwksServer, testKey, type JwksServer, type TestKey } from '../helpers/oidc.js'

const T0 = 1_800_000_000_000
const NOW_S = T0 / 1000
const ISS = 'https://idp.test'

let rsa: TestKey
let ec: TestKey
let attacker: TestKey
let attackerEc: TestKey
let engine: Engine
/** Counts requests to the attacker's key server: a trusted `jku`/`x5u` would hit it. */
let attackerHits = 0
let attackerServer: Server
let attackerUrl: string

beforeAll(async () => {
  rsa = await testKey('RS256', 'rsa-1')
  ec = await testKey('ES256', 'ec-1')
  attacker = await testKey('RS256', 'evil')
  attackerEc = await testKey('ES256', 'evil-ec')
  attackerServer = createServer((_req, res) => {
    attackerHits++
    res.end(JSON.stringify({ keys: [attacker.jwk] }))
  })
  await new Promise<void>((resolve) => attackerServer.listen(0, '127.0.0.1', resolve))
  attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}`
  engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      auth: {
        issuers: [
          { issuer: ISS, audience: 'shop-api', keys: [rsa.jwk, ec.jwk], clockTolerance: '30s' },
        ],
        rules: [
          { id: 'api', paths: ['/api/*'] },
          { id: 'admin', paths: ['/api/admin/*'], require: { scopes: ['admin_access'] } },
          { id: 'cart', paths: ['/cart'], require: { authenticated: false } },
        ],
      },
    }),
    { clock: { now: () => T0 }, store: new MemoryStore() },
  )
})

afterAll(async () => {
  await engine.close()
  await new Promise<void>((resolve) => attackerServer.close(() => resolve()))
})

async function inspect(r: RawRequest): Promise<Decision> {
  const { ctx, refusal } = engine.prepare(r)
  expect(refusal).toBeUndefined()
  return engine.inspect(ctx)
}

const bearer = (token: string, path = '/api/orders') =>
  inspect(raw(`GET ${path}`, { headers: { authorization: `Bearer ${token}` } }))

async function refused(token: string, reason: string, path?: string) {
  const d = await bearer(token, path)
  expect(d.decisive).toMatchObject({
    action: 'block',
    status: 401,
    reason: `invalid token: ${reason}`,
  })
  expect(d.decisive?.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"')
}

const good = (claims: Record<string, unknown> = {}, key = rsa, header = {}) =>
  sign(key, ISS, claims, { now: NOW_S, header })

const b64 = (v: unknown) => base64url.encode(JSON.stringify(v))

describe('auth attacks: algorithm', () => {
  it('refuses alg none in any letter case, with or without a signature', async () => {
    const valid = await good({ scope: 'admin_access' })
    const [, payload, signature] = valid.split('.')
    for (const alg of ['none', 'None', 'NONE', 'nOnE'])
      for (const sig of ['', signature!]) {
        const token = `${b64({ alg, typ: 'JWT' })}.${payload}.${sig}`
        const d = await bearer(token, '/api/admin/users')
        expect(d.decisive).toMatchObject({
          status: 401,
          reason: `invalid token: alg "${alg}" is not accepted from ${ISS}`,
        })
      }
    // the genuine token is fine, so it is the header that was refused
    expect((await bearer(valid, '/api/admin/users')).action).toBe('allow')
  })

  it('refuses HS256 signed with the RSA public key (key confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey)
    const secrets = [
      pem,
      pem.trim(),
      JSON.stringify(rsa.jwk),
      Buffer.from(rsa.jwk.n!, 'base64url').toString('latin1'),
    ]
    for (const secret of secrets) {
      const token = await new SignJWT({ sub: 'alice', scope: 'admin_access' })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .setIssuer(ISS)
        .setAudience('shop-api')
        .setIssuedAt(NOW_S)
        .setExpirationTime(NOW_S + 600)
        .sign(new TextEncoder().encode(secret))
      await refused(token, `alg "HS256" is not accepted from ${ISS}`)
    }
  })

  it('refuses an ES256 token naming the RSA key, and an RS256 token from another key', async () => {
    await refused(await good({}, attackerEc, { kid: 'rsa-1' }), 'no ES256 key with kid "rsa-1"')
    await refused(await good({}, attacker, { kid: 'rsa-1' }), 'signature verification failed')
  })
})

describe('auth attacks: keys named by the token', () => {
  it('refuses an unknown kid', async () => {
    await refused(await good({}, attacker), 'no RS256 key with kid "evil"')
  })

  it('never follows jku, x5u or an embedded jwk', async () => {
    const headers: [string, Record<string, unknown>][] = [
      ['jku', { jku: `${attackerUrl}/jwks.json` }],
      ['x5u', { x5u: `${attackerUrl}/cert.pem` }],
      ['jwk', { jwk: attacker.jwk }],
    ]
    for (const [name, header] of headers)
      for (const kid of ['evil', 'rsa-1'])
        await refused(
          await good({}, attacker, { ...header, kid }),
          `token header "${name}" is never trusted`,
        )
    expect(attackerHits).toBe(0)
  })

  it('asks a JWKS for an unknown kid at most once per cooldown', async () => {
    const jwks: JwksServer = await startJwksServer([rsa.jwk])
    let now = T0
    const e = createEngine(
      config({
        auth: {
          issuers: [{ issuer: ISS, audience: 'shop-api', jwksUri: jwks.url, cooldown: '30s' }],
          rules: [{ id: 'api', paths: ['/api/*'] }],
        },
      }),
      { clock: { now: () => now }, store: new MemoryStore() },
    )
    const send = async (token: string) => {
      const { ctx } = e.prepare(
        raw('GET /api/x', { headers: { authorization: `Bearer ${token}` } }),
      )
      return e.inspect(ctx)
    }
    try {
      expect((await send(await good())).action).toBe('allow')
      expect(jwks.fetches()).toBe(1)
      for (let i = 0; i < 20; i++) {
        const d = await send(await good({}, attacker, { kid: `random-${i}` }))
        expect(d.decisive?.reason).toBe(`invalid token: no RS256 key with kid "random-${i}"`)
      }
      // the first load started the cooldown: none of the 20 fetched
      expect(jwks.fetches()).toBe(1)
      now += 30_000
      await send(await good({}, attacker, { kid: 'random-x' }))
      await send(await good({}, attacker, { kid: 'random-y' }))
      expect(jwks.fetches()).toBe(2)
    } finally {
      await e.close()
      await jwks.close()
    }
  })
})

describe('auth attacks: claims', () => {
  it('refuses an expired token, beyond the clock tolerance', async () => {
    await refused(await good({ exp: NOW_S - 31 }), 'token expired')
    expect((await bearer(await good({ exp: NOW_S - 29 }))).action).toBe('allow')
  })

  it('refuses a token not yet valid', async () => {
    await refused(await good({ nbf: NOW_S + 60 }), '"nbf" claim timestamp check failed')
    expect((await bearer(await good({ nbf: NOW_S + 20 }))).action).toBe('allow')
  })

  it('refuses a token without exp', async () => {
    await refused(await good({ exp: undefined }), 'missing required "exp" claim')
  })

  it('refuses a wrong or missing iss', async () => {
    await refused(
      await good({ iss: 'https://evil.test' }),
      'issuer "https://evil.test" is not configured',
    )
    await refused(await good({ iss: `${ISS}/` }), `issuer "${ISS}/" is not configured`)
    await refused(await good({ iss: undefined }), 'token has no iss')
  })

  it('refuses a wrong aud, and accepts a list naming ours', async () => {
    await refused(await good({ aud: 'other-api' }), 'unexpected "aud" claim value')
    await refused(await good({ aud: undefined }), 'missing required "aud" claim')
    expect((await bearer(await good({ aud: ['other-api', 'shop-api'] }))).action).toBe('allow')
  })

  it('refuses a tampered payload', async () => {
    const [header, , signature] = (await good({ scope: 'shop' })).split('.')
    const forged = b64({
      iss: ISS,
      aud: 'shop-api',
      sub: 'alice',
      scope: 'shop admin_access',
      iat: NOW_S,
      exp: NOW_S + 600,
    })
    await refused(
      `${header}.${forged}.${signature}`,
      'signature verification failed',
      '/api/admin/x',
    )
  })

  it('refuses an unknown critical header and an encrypted token', async () => {
    // jose will not sign an unknown crit, so sign by hand
    const header = b64({ alg: 'RS256', kid: 'rsa-1', crit: ['exp-policy'], 'exp-policy': 1 })
    const payload = (await good()).split('.')[1]
    const input = `${header}.${payload}`
    const sig = cryptoSign('sha256', Buffer.from(input), KeyObject.from(rsa.privateKey as never))
    await refused(
      `${input}.${sig.toString('base64url')}`,
      'Extension Header Parameter "exp-policy" is not recognized',
    )
    await refused('a.b.c.d.e', 'malformed token')
    await refused('not-a-jwt', 'malformed token')
  })
})

describe('auth attacks: scopes', () => {
  it('matches whole scopes only', async () => {
    const claims = [
      { scope: 'not_admin_access' },
      { scope: 'admin_access_x' },
      { scope: 'admin' },
      { scope: 'ADMIN_ACCESS' },
      { scope: 'shop,admin_access' },
      { scope: 'shop\tadmin_access' },
      { scope: ['not_admin_access'] },
      { scp: ['not_admin_access', 'shop'] },
      { scp: 'xadmin_access' },
      { scp: [['admin_access']] },
      { scope: 'shop', scp: 'admin_accessx' },
    ]
    for (const c of claims) {
      const d = await bearer(await good(c), '/api/admin/users')
      expect(d.decisive, JSON.stringify(c)).toMatchObject({
        status: 403,
        reason: 'token lacks scope admin_access',
      })
    }
    for (const c of [
      { scope: 'admin_access' },
      { scope: ' shop  admin_access ' },
      { scp: ['admin_access'] },
    ])
      expect((await bearer(await good(c), '/api/admin/users')).action).toBe('allow')
  })
})

describe('auth attacks: where the token is', () => {
  it('refuses a token in the query string, even with a valid header', async () => {
    const token = await good()
    for (const target of [
      `/api/orders?access_token=${token}`,
      `/api/orders?x=1&access%5Ftoken=${token}`,
      `/cart?access_token=${token}`,
    ]) {
      const variants: Record<string, string>[] = [{}, { authorization: `Bearer ${token}` }]
      for (const headers of variants) {
        const d = await inspect(raw(`GET ${target}`, { headers }))
        expect(d.decisive, target).toMatchObject({
          status: 400,
          reason: 'a token in the query string is not accepted',
        })
        expect(d.decisive?.headers?.['www-authenticate']).toBe('Bearer error="invalid_request"')
      }
    }
  })

  it('refuses two Authorization headers, whichever comes first', async () => {
    const token = await good()
    for (const pair of [
      [`Bearer ${token}`, 'Bearer x.y.z'],
      ['Bearer x.y.z', `Bearer ${token}`],
      [`Bearer ${token}`, `Bearer ${token}`],
      [`Bearer ${token}`, 'Basic YTpi'],
    ]) {
      const r = raw('GET /api/orders')
      // node keeps only the first in `headers`, but forwards both in rawHeaders
      const d = await inspect({
        ...r,
        headers: { ...r.headers, authorization: pair[0] },
        rawHeaders: [...r.rawHeaders, 'Authorization', pair[0]!, 'authorization', pair[1]!],
      })
      expect(d.decisive).toMatchObject({
        status: 400,
        reason: 'more than one Authorization header',
      })
    }
  })

  it('refuses malformed Bearer credentials', async () => {
    for (const value of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer  <script>', 'Bearer\ttoken'])
      expect(
        (await inspect(raw('GET /api/orders', { headers: { authorization: value } }))).decisive,
        value,
      ).toMatchObject({ status: 400, reason: 'malformed Bearer credentials' })
  })
})
