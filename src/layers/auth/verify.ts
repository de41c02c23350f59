/**
 * Bearer JWT verification: picks the issuer by `iss`, refuses what must never be trusted
 * (an algorithm outside that issuer's allowlist — so `none` in any letter case, and HS256 on an
 * RSA issuer —, key-pointing headers `jku`/`x5u`/`jwk`), finds the key by `alg` and `kid`, and
 * lets jose check the signature, `iss`, `aud`, `exp`, `nbf`, `typ` and required claims with the
 * issuer's clock tolerance. Verified tokens are cached until min(`exp`, now + `cache.maxAge`),
 * and dropped early when the issuer stops publishing their key.
 * @see ../../../docs/auth.md#what-a-token-must-be
 */
import { createHash } from 'node:crypto'
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose'
import type { Clock, MaybePromise } from '../../engine/types.js'
import { remoteKeySet, secretKeySet, staticKeySet, type KeyHandle, type KeySet } from './jwks.js'
import type { IssuerSpec } from './issuer-spec.js'
import type { AuthSpec } from './spec.js'
import { TokenCache } from './token-cache.js'

/** A token whose signature and claims checked out. */
export interface VerifiedToken {
  readonly claims: JWTPayload
  /** The issuer's configured `issuer` (equal to `claims.iss`). */
  readonly issuer: string
  readonly handle: KeyHandle
  /** Scopes, parsed on first use (see scopes.ts). */
  scopes?: ReadonlySet<string>
}

/** The verifier's answer: a verified token, or why not. */
export type Verification =
  | { readonly ok: true; readonly token: VerifiedToken }
  | {
      readonly ok: false
      /** `invalid_token` → 401; `unavailable` (the issuer's keys cannot be had) → 503. */
      readonly error: 'invalid_token' | 'unavailable'
      readonly reason: string
      /**
       * The token was made, not just stale or meant for someone else: a bad signature, an
       * algorithm the issuer does not use (`none`, HS256 against an RSA key), a key URL in the
       * header. People do not send these; the behaviour layer counts them as tampering.
       */
      readonly forged?: true
      /**
       * Signed by the issuer and otherwise good, but past its `exp`: a client that kept sending
       * its token after it ran out (the auth layer lets it pass as anonymous where a token is
       * optional).
       */
      readonly expired?: true
    }

interface Cached {
  readonly result: { readonly ok: true; readonly token: VerifiedToken }
  readonly keys: KeySet
}

interface Issuer {
  readonly name: string
  readonly algorithms: ReadonlySet<string>
  readonly keys: KeySet
  readonly options: JWTVerifyOptions
  /** `clockTolerance`, in whole seconds as jose applies it, in milliseconds. */
  readonly toleranceMs: number
}

/**
 * How long a token that failed its signature or claims check is answered from memory: a bot
 * replaying one expired or forged token costs one verification a minute, not one a request.
 * Keyed by a SHA-256 of the token (an attacker's 16 KB tokens do not fill memory).
 */
const FAILED_TTL = 60_000

/** Longer than any real access token; node's header limit stops most before this. */
const MAX_TOKEN = 16 * 1024
/** Header parameters that point at a key: following them lets the token pick its own key. */
const UNTRUSTED_HEADERS = ['jku', 'x5u', 'jwk'] as const

/**
 * Compiles the issuers into one verify function. A cached token is answered synchronously.
 * @example
 * const verify = tokenVerifier(spec, clock)
 * const v = await verify(token) // { ok: true, token: { claims, issuer, handle } }
 */
export function tokenVerifier(
  spec: Pick<AuthSpec, 'issuers' | 'cache'>,
  clock: Clock,
): (token: string) => MaybePromise<Verification> {
  const issuers = new Map(spec.issuers.map((i) => [i.issuer, compileIssuer(i, clock)]))
  const cache = new TokenCache<Cached>(spec.cache.maxEntries)
  const failures = new TokenCache<Verification>(Math.min(spec.cache.maxEntries, 10_000))
  const maxAge = spec.cache.maxAge

  return function verify(token) {
    const now = clock.now()
    const hit = cache.get(token, now)
    if (hit !== undefined) {
      hit.keys.refreshIfDue(now)
      if (hit.result.token.handle.live) return hit.result
      cache.delete(token)
    }
    if (token.length > MAX_TOKEN) return invalid('token too long')
    let header: ReturnType<typeof decodeProtectedHeader>
    let payload: JWTPayload
    try {
      header = decodeProtectedHeader(token)
      payload = decodeJwt(token)
    } catch {
      return invalid('malformed token')
    }
    for (const h of UNTRUSTED_HEADERS)
      if (h in header) return forged(`token header "${h}" is never trusted`)
    if (typeof payload.iss !== 'string') return invalid('token has no iss')
    const issuer = issuers.get(payload.iss)
    if (!issuer) return invalid(`issuer ${quoted(payload.iss)} is not configured`)
    const alg = header.alg
    if (typeof alg !== 'string' || !issuer.algorithms.has(alg))
      return forged(`alg ${quoted(alg)} is not accepted from ${issuer.name}`)
    const kid = header.kid
    if (kid !== undefined && typeof kid !== 'string') return invalid('kid is not a string')

    // Only a token whose key was found and that still failed is remembered: an unknown kid may
    // be a rotation the next JWKS fetch brings in.
    const digest = failures.maxEntries > 0 ? sha256(token) : ''
    const failed = digest === '' ? undefined : failures.get(digest, now)
    if (failed !== undefined) return failed
    const checkWith = (found: Awaited<ReturnType<KeySet['find']>>) => {
      if (found.kind === 'unknown') return invalid(found.reason)
      if (found.kind === 'unavailable')
        return { ok: false, error: 'unavailable', reason: found.reason } as const
      const handle = found.handle
      return handle
        .key(alg)
        .then((key) =>
          jwtVerify(token, key, {
            ...issuer.options,
            algorithms: [alg],
            currentDate: new Date(clock.now()),
          }),
        )
        .then(
          ({ payload: claims }): Verification => {
            const at = clock.now()
            // Issued in the future: a wrong clock at best, a token minted ahead of time with a
            // stolen key at worst (jose checks `iat` only under maxTokenAge).
            if (typeof claims.iat === 'number' && claims.iat * 1000 > at + issuer.toleranceMs) {
              const v = invalid('"iat" claim timestamp check failed (it should be in the past)')
              if (digest !== '') failures.set(digest, v, at + FAILED_TTL, at)
              return v
            }
            const result = { ok: true, token: { claims, issuer: issuer.name, handle } } as const
            const expiresAt = Math.min(claims.exp! * 1000, at + maxAge)
            cache.set(token, { result, keys: issuer.keys }, expiresAt, at)
            return result
          },
          (err: unknown) => {
            const v =
              err instanceof errors.JWSSignatureVerificationFailed
                ? forged(describe(err))
                : err instanceof errors.JWTExpired
                  ? ({ ...invalid(describe(err)), expired: true } as const)
                  : invalid(describe(err))
            // A token not valid *yet* (nbf) may be fine in a moment: not remembered.
            const soon = err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf'
            if (digest !== '' && !soon)
              failures.set(digest, v, clock.now() + FAILED_TTL, clock.now())
            return v
          },
        )
    }
    const found = issuer.keys.find(alg, kid, now)
    return found instanceof Promise ? found.then(checkWith) : checkWith(found)
  }
}

function compileIssuer(i: IssuerSpec, clock: Clock): Issuer {
  const keys =
    i.jwksUri !== undefined
      ? remoteKeySet({
          issuer: i.issuer,
          url: i.jwksUri,
          clock,
          refreshInterval: i.refreshInterval,
          cooldown: i.cooldown,
          fetchTimeout: i.fetchTimeout,
          maxStale: i.maxStale,
        })
      : i.keys !== undefined
        ? staticKeySet(i.keys as never)
        : secretKeySet(i.secret!)
  return {
    name: i.issuer,
    algorithms: new Set(i.algorithms),
    keys,
    toleranceMs: Math.ceil(i.clockTolerance / 1000) * 1000,
    options: {
      issuer: i.issuer,
      audience: i.audience,
      clockTolerance: Math.ceil(i.clockTolerance / 1000),
      // Without exp a token would never expire (and could not be cached until it does).
      requiredClaims: [...new Set(['exp', ...i.requiredClaims])],
      ...(i.typ !== undefined ? { typ: i.typ } : {}),
    },
  }
}

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

function invalid(reason: string): Verification {
  return { ok: false, error: 'invalid_token', reason }
}

function forged(reason: string): Verification {
  return { ok: false, error: 'invalid_token', reason, forged: true }
}

/** jose's messages name the failed check (`"exp" claim timestamp check failed`); keep them. */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired'
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed'
  if (err instanceof errors.JOSEError) return err.message
  return `cannot verify: ${String((err as Error)?.message ?? err)}`
}

/** A value from the token, for a log line: JSON-quoted and cut short. */
function quoted(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
