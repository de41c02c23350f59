/**
 * A token that failed its signature or claims check is answered from memory for a minute, so a
 * bot replaying one expired or forged token costs one signature check a minute, not one a
 * request. What may turn valid soon (an unknown kid before a key rotation, a token not valid
 * *yet*) is not remembered.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { AuthSpec } from '../../src/layers/auth/spec.js'
import { tokenVerifier } from '../../src/layers/auth/verify.js'
import { sign, testKey, type TestKey } from '../helpers/oidc.js'

const T0 = 1_800_000_000_000
const NOW_S = T0 / 1000
const ISS = 'https://idp.test'
let key: TestKey
let other: TestKey

beforeAll(async () => {
  key = await testKey('ES256', 'k1')
  other = await testKey('ES256', 'k1') // same kid, another key: a forgery
})

function verifier() {
  let now = T0
  const spec = AuthSpec.parse({ issuers: [{ issuer: ISS, audience: 'shop-api', keys: [key.jwk] }] })
  return { verify: tokenVerifier(spec, { now: () => now }), advance: (ms: number) => (now += ms) }
}

describe('auth: failed tokens remembered', () => {
  it('answers a replayed expired or forged token from memory (synchronously) for a minute', async () => {
    const { verify, advance } = verifier()
    for (const token of [
      await sign(key, ISS, { exp: NOW_S - 3_600, iat: NOW_S - 7_200 }),
      await sign(other, ISS, {}, { now: NOW_S }),
    ]) {
      const first = verify(token)
      expect(first).toBeInstanceOf(Promise) // a signature check
      const v = await first
      expect(v.ok).toBe(false)
      const again = verify(token)
      expect(again).not.toBeInstanceOf(Promise) // no signature check
      expect(again).toEqual(v)
      advance(61_000)
      expect(verify(token)).toBeInstanceOf(Promise)
      await verify(token)
    }
  })

  it('does not remember a token that is not valid yet, nor an unknown kid', async () => {
    const { verify } = verifier()
    const early = await sign(key, ISS, { nbf: NOW_S + 600 }, { now: NOW_S })
    expect((await verify(early)).ok).toBe(false)
    expect(verify(early)).toBeInstanceOf(Promise)
    const stranger = await testKey('ES256', 'k2')
    const unknown = await sign(stranger, ISS, {}, { now: NOW_S })
    const u1 = await verify(unknown)
    expect(u1).toMatchObject({ ok: false })
    // unknown kids are refused before any signature check, every time (the JWKS decides)
    expect(await verify(unknown)).toEqual(u1)
  })

  it('still verifies and caches a good token as before', async () => {
    const { verify } = verifier()
    const good = await sign(key, ISS, {}, { now: NOW_S })
    expect((await verify(good)).ok).toBe(true)
    const again = verify(good)
    expect(again).not.toBeInstanceOf(Promise)
    expect((again as { ok: boolean }).ok).toBe(true)
  })
})
