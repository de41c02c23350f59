/**
 * Step-up for critical routes (RFC 9470): the token must show how, and how recently, the user
 * authenticated — an `acr` among the accepted values, an `amr` method among the listed ones,
 * an `auth_time` within `maxAge`. When it does not, the client is told what would do
 * (`acr_values`, `max_age`) and sends the user back to the authorization server.
 */
import type { JWTPayload } from 'jose'

/** What a rule's `stepUp` asks of the token (RFC 9470). */
export interface StepUpClaims {
  readonly acr?: readonly string[]
  readonly amr?: readonly string[]
  /** Milliseconds. */
  readonly maxAge?: number
}

/** Undefined when the token's authentication is strong and recent enough, else why not. */
export type StepUpCheck = (claims: JWTPayload, now: number) => string | undefined

/**
 * @example
 * const check = stepUpCheck({ acr: ['mfa'], maxAge: 300_000 })
 * check({ acr: 'pwd', auth_time: nowSec }, Date.now()) // 'acr "pwd" is not one of "mfa"'
 */
export function stepUpCheck(s: StepUpClaims): StepUpCheck {
  const acr = s.acr && new Set(s.acr)
  const acrText = s.acr?.map((a) => JSON.stringify(a)).join(', ')
  const amr = s.amr
  const maxAgeS = s.maxAge === undefined ? undefined : s.maxAge / 1000
  return function stepUp(claims, now) {
    if (acr) {
      const v = claims.acr
      if (typeof v !== 'string' || !acr.has(v))
        return v === undefined
          ? 'token has no acr'
          : `acr ${JSON.stringify(v)} is not one of ${acrText}`
    }
    if (amr) {
      const v = claims.amr
      if (!Array.isArray(v) || !amr.some((m) => v.includes(m)))
        return `amr has none of ${amr.join(', ')}`
    }
    if (maxAgeS !== undefined) {
      const t = claims.auth_time
      if (typeof t !== 'number' || !Number.isFinite(t)) return 'token has no auth_time'
      const age = now / 1000 - t
      if (age > maxAgeS) return `authenticated ${Math.floor(age)}s ago, more than ${maxAgeS}s`
    }
    return undefined
  }
}
