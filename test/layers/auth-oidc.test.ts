/**
 * End to end: a real OpenID provider (oidc-provider, generated RS256 and ES256 keys) issues
 * access tokens by the client_credentials grant; the gateway validates them through the
 * provider's JWKS URL, follows its key rotation, and stops every attack before the upstream.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { base64url, decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { startGateway } from '../../src/proxy/gateway.js'
import type { NoticeMessage } from '../../src/telemetry/channels.js'
import { config } from '../helpers/engine.js'
import { AUDIENCE, startIdp, type TestIdp } from '../helpers/oidc.js'
import { rawGet, startUpstream, type Upstream } from '../proxy/helpers.js'

let idp: TestIdp
let upstream: Upstream
let gw: Gateway
/** Added to the real time: the gateway's clock, so refresh intervals can pass at once. */
let offset = 0

beforeAll(async () => {
  idp = await startIdp()
  upstream = await startUpstream()
  gw = await startGateway(
    config({
      upstreams: { app: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      auth: {
        issuers: [
          {
            issuer: idp.issuer,
            audience: AUDIENCE,
            jwksUri: idp.jwksUri,
            algorithms: ['RS256', 'ES256'],
            typ: 'at+jwt',
            refreshInterval: '1m',
            cooldown: '10s',
          },
        ],
        rules: [
          { id: 'api', paths: ['/api/*'] },
          {
            id: 'admin',
            paths: ['/api/admin/*'],
            require: { scopes: ['admin_access'], claims: { role: 'admin' } },
          },
        ],
      },
    }),
    { port: 0, host: '127.0.0.1', clock: { now: () => Date.now() + offset } },
  )
}, 30_000)

afterAll(async () => {
  await gw?.close()
  await upstream?.close()
  await idp?.close()
})

async function get(path: string, token?: string) {
  const res = await fetch(`${gw.url}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  await res.arrayBuffer()
  return res
}

/** Lets a background JWKS refresh finish. */
const settle = () => new Promise((r) => setTimeout(r, 100))

describe('auth: tokens from a real OpenID provider, through the gateway', () => {
  it('accepts RS256 and ES256 access tokens and enforces scopes and claims', async () => {
    const svc = await idp.token('svc') // RS256, scope "shop admin_access", role admin
    const es = await idp.token('es') // ES256, scope "shop", role customer
    expect(decodeProtectedHeader(es)).toMatchObject({
      alg: 'ES256',
      typ: 'at+jwt',
    })
    const before = upstream.received.length
    expect((await get('/api/orders', svc)).status).toBe(200)
    expect((await get('/api/orders', es)).status).toBe(200)
    expect((await get('/api/admin/users', svc)).status).toBe(200)
    const denied = await get('/api/admin/users', es)
    expect(denied.status).toBe(403)
    expect(denied.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="admin_access"',
    )
    const anonymous = await get('/api/orders')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
    expect(upstream.received.length - before).toBe(3)
    // the upstream gets the token as sent: it can verify it again
    expect(upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${svc}`)
    expect(idp.jwksFetches()).toBe(1)
  })

  it('follows a rotation of the provider keys, and retires the old key', async () => {
    const old = await idp.token('svc')
    expect((await get('/api/orders', old)).status).toBe(200)
    const fetches = idp.jwksFetches()
    await idp.rotate()
    offset += 10_000 // the cooldown since the last fetch has passed
    const fresh = await idp.token('svc')
    const kid = decodeProtectedHeader(fresh).kid
    expect(kid).toBe(idp.kids()[0])
    expect((await get('/api/orders', fresh)).status).toBe(200)
    expect(idp.jwksFetches()).toBe(fetches + 1)
    expect((await get('/api/orders', old)).status).toBe(200) // still published
    await idp.retire()
    offset += 60_000 // past refreshInterval: the next request refreshes in the background
    expect((await get('/api/orders', fresh)).status).toBe(200)
    await settle()
    const refused = await get('/api/orders', old)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect((await get('/api/orders', fresh)).status).toBe(200)
  })

  it('stops the attacks before the upstream', async () => {
    const token = await idp.token('es')
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const b64 = (v: unknown) => base64url.encode(JSON.stringify(v))
    const claims = decodeJwt(token)
    const before = upstream.received.length
    const cases: [string, number][] = [
      [`${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`, 401],
      [`${b64({ alg: 'NoNe' })}.${payload}.${signature}`, 401],
      [
        `${header}.${b64({ ...claims, scope: 'shop admin_access', role: 'admin' })}.${signature}`,
        401,
      ],
      [`${header}.${b64({ ...claims, aud: 'other' })}.${signature}`, 401],
    ]
    for (const [t, status] of cases) expect((await get('/api/admin/users', t)).status).toBe(status)
    expect((await get(`/api/orders?access_token=${token}`)).status).toBe(400)
    const two = await rawGet(gw.port, '/api/orders', [
      `Authorization: Bearer ${token}`,
      'Authorization: Bearer forged',
    ])
    expect(two.status).toBe(400)
    expect(two.headers['www-authenticate']).toEqual(['Bearer error="invalid_request"'])
    expect(upstream.received.length).toBe(before)
  })

  it('keeps verifying with the keys it has while the provider is down', async () => {
    const token = await idp.token('svc', 'shop')
    const notices: NoticeMessage[] = []
    const onNotice = (m: unknown) => void notices.push(m as NoticeMessage)
    diagnostics_channel.subscribe('bulwark:notice', onNotice)
    try {
      idp.setDown(true)
      offset += 120_000
      expect((await get('/api/orders', token)).status).toBe(200)
      await settle()
      expect(notices.find((n) => n.kind === 'jwks-stale')).toMatchObject({
        level: 'warn',
        issuer: idp.issuer,
      })
    } finally {
      idp.setDown(false)
      diagnostics_channel.unsubscribe('bulwark:notice', onNotice)
    }
  })
})
