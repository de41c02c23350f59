/**
 * The demo's `auth:` block (examples/shop/bulwark.yaml) in front of the real demo shop: admin
 * routes need `admin_access`, the password change needs a TOTP step-up.
 */
import { Secret, TOTP } from 'otpauth'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { ConfigSpec } from '../../src/config/schema.js'
import { enrollTotp } from '../../src/layers/auth/enroll-totp.js'
import { demoConfig } from '../helpers/engine.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'

let shop: Shop
let gw: Gateway

beforeAll(async () => {
  shop = await startShop({ port: 0 })
  const demo = await demoConfig(shop.url)
  // Only the blocks this test is about: the demo's other layers have their own tests.
  const { server, upstreams, routes, identity, auth } = demo
  gw = await startGateway(ConfigSpec.parse({ server, upstreams, routes, identity, auth }), {
    port: 0,
    host: '127.0.0.1',
  })
})

afterAll(async () => {
  await gw?.close()
  await shop?.close()
})

async function login(username: string): Promise<string> {
  const res = await fetch(`${gw.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: `${username}-pw` }),
  })
  return ((await res.json()) as { token: string }).token
}

function call(path: string, token: string, init: RequestInit = {}) {
  return fetch(`${gw.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  })
}

describe('auth: the demo config', () => {
  it('lets admin_access reach the admin API and refuses a customer at the edge', async () => {
    const admin = await login('admin')
    expect((await call('/api/admin/users', admin)).status).toBe(200)
    const token = await login('alice')
    const before = shop.received.length
    const alice = await call('/api/admin/users', token)
    expect(alice.status).toBe(403)
    expect(alice.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="admin_access"',
    )
    expect(shop.received.length).toBe(before)
  })

  it('refuses a token the shop did not sign, on the optional cart route too', async () => {
    // another shop, same issuer name, its own key
    const impostor = await startShop({ port: 0, issuer: shop.url })
    const forged = await impostor.issueToken({ sub: 'alice' })
    await impostor.close()
    expect((await call('/api/cart', forged)).status).toBe(401)
    expect((await fetch(`${gw.url}/api/cart`)).status).toBe(200)
  })

  it('asks for a TOTP code to change the password', async () => {
    const token = await login('bob')
    const change = (code?: string) =>
      call('/api/account/password', token, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(code ? { 'x-totp-code': code } : {}),
        },
        body: JSON.stringify({ oldPassword: 'bob-pw', newPassword: 'bob-pw-2' }),
      })
    expect((await change()).status).toBe(401)
    expect((await change('123456')).status).toBe(403) // not enrolled
    const { secret } = await enrollTotp(gw.engine, 'bob')
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate()
    expect((await change(code)).status).toBe(200)
    expect((await change(code)).status).toBe(401) // once only
  })

  it('the shop never sees X-TOTP-Code or a forged claim header', async () => {
    const token = await login('alice')
    const res = await call('/api/account', token, { headers: { 'x-totp-code': '123456' } })
    expect(res.status).toBe(200)
    const seen = shop.received.at(-1)!
    expect(seen.url).toBe('/api/account')
    expect(seen.headers['x-totp-code']).toBeUndefined()
    expect(seen.headers.authorization).toBe(`Bearer ${token}`)
  })
})
