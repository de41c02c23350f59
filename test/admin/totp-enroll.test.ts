/**
 * TOTP enrolment through the admin API: `POST /api/totp/enroll` makes a secret, and a code from
 * it passes the gateway's step-up for that account — real signed tokens, real sockets.
 */
import { Secret, TOTP } from 'otpauth'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sign, testKey, type TestKey } from '../helpers/oidc.js'
import { startStack, type Stack } from './helpers.js'

const ISS = 'https://idp.test'
let key: TestKey
let s: Stack
let plain: Stack

beforeAll(async () => {
  key = await testKey('ES256', 'enrol-test')
  s = await startStack({
    auth: {
      issuers: [{ issuer: ISS, audience: 'shop-api', keys: [key.jwk] }],
      rules: [{ id: 'transfer', paths: ['/api/transfers'], stepUp: { totp: true } }],
      // Generated per run: no key in the repository.
      totp: {
        encryptionKey: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'),
      },
    },
  })
  plain = await startStack()
})
afterAll(async () => {
  await s.close()
  await plain.close()
})

function enroll(stack: Stack, body: unknown) {
  return stack.api('/api/totp/enroll', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

describe('admin: TOTP enrolment', () => {
  it('enrols an account, and a code from its secret passes the step-up', async () => {
    const token = await sign(key, ISS, { sub: 'alice', aud: 'shop-api' })
    const transfer = (code?: string) =>
      s.send('/api/transfers', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(code ? { 'x-totp-code': code } : {}) },
      })
    // Not enrolled yet: refused whatever the code.
    expect((await transfer('123456')).status).toBe(403)

    const r = await enroll(s, { account: 'alice' })
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const body = (await r.json()) as { account: string; secret: string; otpauthUrl: string }
    expect(body.account).toBe('alice')
    expect(body.secret).toMatch(/^[A-Z2-7]{16,}$/)
    expect(body.otpauthUrl).toMatch(/^otpauth:\/\/totp\//)
    expect(body.otpauthUrl).toContain(`secret=${body.secret}`)

    expect((await transfer()).status).toBe(401)
    const code = new TOTP({ secret: Secret.fromBase32(body.secret), digits: 6, period: 30 })
    expect((await transfer(code.generate())).status).toBe(200)
  })

  it('refuses a request without an account (400) and a config without TOTP (409)', async () => {
    expect((await enroll(s, {})).status).toBe(400)
    expect((await enroll(s, { account: '  ' })).status).toBe(400)
    const off = await enroll(plain, { account: 'alice' })
    expect(off.status).toBe(409)
    expect(((await off.json()) as { error: string }).error).toMatch(/auth\.totp/)
  })
})
