/**
 * Built-in TOTP step-up (RFC 6238, via `otpauth`) for backends whose IdP cannot step up: each
 * account's secret is kept in the state store, sealed with AES-256-GCM (secret-box.ts); a
 * critical request carries a current code in a header; a code is accepted once (an atomic
 * SET NX per account and time step); wrong codes count toward a per-account limit, after
 * which every code is refused until the window slides by.
 * @see ../../../docs/auth.md#authtotp
 */
import { Secret, TOTP } from 'otpauth'
import type { Limit, Store } from '../../store/store.js'
import { secretBox } from './secret-box.js'
import { keyBytes, type TotpSpec } from './spec.js'

/** The outcome of one TOTP check; the layer turns it into a verdict. */
export type TotpResult =
  | { readonly kind: 'ok' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'wrong' | 'replayed'; readonly failures: number }
  | { readonly kind: 'locked'; readonly retryAfterMs: number }
  | { readonly kind: 'not-enrolled' }
  | { readonly kind: 'unavailable'; readonly reason: string }

export interface TotpEnrolment {
  /** Base32 secret, for manual entry in an authenticator app. */
  readonly secret: string
  /** `otpauth://totp/…` URI, for a QR code. */
  readonly otpauthUrl: string
}

/** TOTP checks and enrolments for one config, over the shared state store. */
export interface TotpGuard {
  /** Checks `code` for `account` (the token's exact `sub`). Never throws. */
  check(account: string, code: string | undefined, now: number): Promise<TotpResult>
  /** Makes a new secret for `account`, replacing any earlier one. */
  enroll(account: string, now: number): Promise<TotpEnrolment>
}

const PERIOD_S = 30
const DIGITS = 6
const CODE = /^\d{6}$/
/** Enrolments do not expire on their own; the store only knows flags with a TTL. */
const ENROLMENT_TTL = 10 * 365 * 86_400_000

/**
 * @example
 * const guard = totpGuard(spec.totp, store)
 * const { otpauthUrl } = await guard.enroll('alice', clock.now())
 * await guard.check('alice', '492039', clock.now()) // { kind: 'ok' }
 */
export function totpGuard(spec: TotpSpec, store: Store): TotpGuard {
  const box = secretBox(keyBytes(spec.encryptionKey)!)
  const failures: Limit = {
    algorithm: 'sliding-window',
    limit: spec.maxFailures,
    windowMs: spec.failureWindow,
  }
  // Long enough that a code cannot come back while it is still within the accepted skew.
  const usedTtl = (2 * spec.skew + 2) * PERIOD_S * 1000
  const secretKey = (a: string) => `auth.totp|secret|${a}`
  const failKey = (a: string) => `auth.totp|fail|${a}`

  async function fail(
    account: string,
    kind: 'wrong' | 'replayed',
    now: number,
  ): Promise<TotpResult> {
    const r = await store.consume(failKey(account), failures, now)
    return r.allowed
      ? { kind, failures: r.count }
      : { kind: 'locked', retryAfterMs: r.retryAfterMs }
  }

  async function check(account: string, code: string | undefined, now: number) {
    if (code === undefined || code === '') return { kind: 'missing' } as const
    const limit = await store.peek(failKey(account), failures, now)
    if (!limit.allowed) return { kind: 'locked', retryAfterMs: limit.retryAfterMs } as const
    // A malformed code is a wrong code (and otpauth's compare wants equal byte lengths).
    if (!CODE.test(code)) return fail(account, 'wrong', now)
    const [sealed] = await store.flagged([secretKey(account)], now)
    const base32 = sealed === undefined ? undefined : box.open(sealed, account)
    if (base32 === undefined) return { kind: 'not-enrolled' } as const
    const delta = TOTP.validate({
      token: code,
      secret: Secret.fromBase32(base32),
      algorithm: 'SHA1',
      digits: DIGITS,
      period: PERIOD_S,
      timestamp: now,
      window: spec.skew,
    })
    if (delta === null) return fail(account, 'wrong', now)
    // RFC 6238 §5.2: a code is accepted once. Keyed by time step, so two requests racing with
    // the same code cannot both win (SET NX), and a later step's code is still good.
    const step = TOTP.counter({ period: PERIOD_S, timestamp: now }) + delta
    const first = await store.flagOnce(`auth.totp|used|${account}|${step}`, '1', usedTtl, now)
    return first ? ({ kind: 'ok' } as const) : fail(account, 'replayed', now)
  }

  return {
    async check(account, code, now) {
      try {
        return await check(account, code, now)
      } catch (err) {
        return { kind: 'unavailable', reason: String((err as Error)?.message ?? err) }
      }
    },
    async enroll(account, now) {
      if (typeof account !== 'string' || account === '')
        throw new TypeError('enrollTotp: account must be a non-empty string')
      const secret = new Secret({ size: 20 })
      const totp = new TOTP({
        issuer: spec.issuer,
        label: account,
        secret,
        algorithm: 'SHA1',
        digits: DIGITS,
        period: PERIOD_S,
      })
      await store.flag(secretKey(account), box.seal(secret.base32, account), ENROLMENT_TTL, now)
      return { secret: secret.base32, otpauthUrl: totp.toString() }
    },
  }
}
