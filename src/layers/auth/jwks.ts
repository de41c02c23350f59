/**
 * Where an issuer's verification keys come from: a JWKS URL (cached, refetched on an unknown
 * `kid` at most once per `cooldown`, refreshed in the background, served stale while the issuer
 * cannot be reached), static public keys, or a shared HMAC secret.
 *
 * Why not jose's `createRemoteJWKSet`: it reads `Date.now()` (Bulwark injects its clock), and
 * once its cache is older than `cacheMaxAge` a failed refetch throws — so an IdP outage turns
 * every request into a 5s wait and a refusal, and the failed fetch is retried on every request
 * (its cooldown only starts after a success). Here a failure keeps the last keys (up to
 * `maxStale`), starts the cooldown, and is reported once per attempt on `bulwark:notice`.
 *
 * Keys are chosen only by the token's `alg` and `kid`, among the keys this issuer publishes:
 * the `jku`, `x5u` and `jwk` headers are never followed (the verifier refuses them outright).
 */
import { importJWK, type CryptoKey, type JWK } from 'jose'
import type { Clock, MaybePromise } from '../../engine/types.js'
import { notice } from '../../telemetry/channels.js'
import type { Algorithm } from './issuer-spec.js'

/** One verification key. `live` turns false when the issuer stops publishing it. */
export interface KeyHandle {
  live: boolean
  readonly kid: string | undefined
  key(alg: string): Promise<CryptoKey | Uint8Array>
}

/** The outcome of looking a key up for a token's `alg` and `kid`. */
export type KeyLookup =
  | { readonly kind: 'key'; readonly handle: KeyHandle }
  /** No key fits the token: the token is invalid. */
  | { readonly kind: 'unknown'; readonly reason: string }
  /** The issuer's keys cannot be had right now: nobody can be verified. */
  | { readonly kind: 'unavailable'; readonly reason: string }

/** One issuer's keys, however they are obtained. */
export interface KeySet {
  find(alg: string, kid: string | undefined, now: number): MaybePromise<KeyLookup>
  /**
   * Starts a background refresh when one is due. Called on verified-token cache hits, which
   * need no key, so that a hot cache still notices a key the issuer has retired.
   */
  refreshIfDue(now: number): void
}

/** Which JWKs each algorithm may use: an RSA key never verifies an EC or HMAC signature. */
const FAMILY: Readonly<Record<Algorithm, (k: JWK) => boolean>> = {
  RS256: rsa,
  RS384: rsa,
  RS512: rsa,
  PS256: rsa,
  PS384: rsa,
  PS512: rsa,
  ES256: (k) => k.kty === 'EC' && k.crv === 'P-256',
  ES384: (k) => k.kty === 'EC' && k.crv === 'P-384',
  ES512: (k) => k.kty === 'EC' && k.crv === 'P-521',
  EdDSA: (k) => k.kty === 'OKP' && k.crv === 'Ed25519',
  Ed25519: (k) => k.kty === 'OKP' && k.crv === 'Ed25519',
  HS256: () => false,
  HS384: () => false,
  HS512: () => false,
}

function rsa(k: JWK): boolean {
  return k.kty === 'RSA'
}

function usable(k: JWK, alg: string): boolean {
  const family = FAMILY[alg as Algorithm]
  return (
    family !== undefined &&
    family(k) &&
    (k.use === undefined || k.use === 'sig') &&
    (k.key_ops === undefined || k.key_ops.includes('verify')) &&
    (k.alg === undefined || k.alg === alg)
  )
}

interface JwkEntry extends KeyHandle {
  readonly jwk: JWK
  /** Identity across refetches: same kid and key material = same entry (imports kept). */
  readonly id: string
}

function identity(jwk: JWK): string {
  return JSON.stringify([jwk.kid, jwk.kty, jwk.crv, jwk.n, jwk.e, jwk.x, jwk.y, jwk.alg, jwk.use])
}

/** Members only a private or symmetric key has: never imported, whatever a JWKS holds. */
const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

function jwkEntry(jwk: JWK): JwkEntry {
  const pub: JWK = { ...jwk }
  for (const m of PRIVATE) delete (pub as Record<string, unknown>)[m]
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>()
  return {
    jwk: pub,
    id: identity(pub),
    kid: pub.kid,
    live: true,
    key(alg) {
      let k = imported.get(alg)
      if (!k) imported.set(alg, (k = importJWK(pub, alg)))
      return k
    },
  }
}

function select(entries: readonly JwkEntry[], alg: string, kid: string | undefined): KeyLookup {
  let found: JwkEntry | undefined
  for (const e of entries) {
    if (!usable(e.jwk, alg) || (kid !== undefined && e.kid !== kid)) continue
    if (found)
      return {
        kind: 'unknown',
        reason: `several ${alg} keys match; the token must name one by kid`,
      }
    found = e
  }
  if (found) return { kind: 'key', handle: found }
  return {
    kind: 'unknown',
    reason:
      kid === undefined
        ? `no ${alg} key`
        : `no ${alg} key with kid ${JSON.stringify(kid).slice(0, 80)}`,
  }
}

/**
 * Public keys written in the config.
 * @example staticKeySet([{ kty: 'EC', crv: 'P-256', x, y, kid: 'k1' }])
 */
export function staticKeySet(jwks: readonly JWK[]): KeySet {
  const entries = jwks.map(jwkEntry)
  return { find: (alg, kid) => select(entries, alg, kid), refreshIfDue() {} }
}

/**
 * A shared secret for HS256/384/512. The verifier only asks for it with an HMAC algorithm,
 * because a secret issuer's `algorithms` may hold nothing else.
 */
export function secretKeySet(secret: string): KeySet {
  const key = new TextEncoder().encode(secret)
  const handle: KeyHandle = { live: true, kid: undefined, key: () => Promise.resolve(key) }
  const found: KeyLookup = { kind: 'key', handle }
  return { find: () => found, refreshIfDue() {} }
}

/** An issuer's JWKS URL and cache timings (milliseconds), from `auth.issuers[]`. */
export interface RemoteKeySetOptions {
  readonly issuer: string
  readonly url: string
  readonly clock: Clock
  readonly refreshInterval: number
  readonly cooldown: number
  readonly fetchTimeout: number
  readonly maxStale: number
}

/** A JWKS larger than this is refused (a real one is a few kilobytes). */
const MAX_JWKS_BYTES = 512 * 1024

/**
 * Keys from a JWKS URL, fetched on first use.
 * @example
 * const keys = remoteKeySet({ issuer, url: `${issuer}/jwks`, clock, refreshInterval: 600_000,
 *   cooldown: 30_000, fetchTimeout: 5_000, maxStale: 86_400_000 })
 * await keys.find('RS256', 'k1', clock.now()) // { kind: 'key', handle }
 */
export function remoteKeySet(o: RemoteKeySetOptions): KeySet {
  let entries: JwkEntry[] | undefined
  let fetchedAt = -Infinity
  let lastAttempt = -Infinity
  let lastError = ''
  let pending: Promise<void> | undefined

  function refresh(now: number): Promise<void> {
    if (pending) return pending
    lastAttempt = now
    const p: Promise<void> = load(o.url, o.fetchTimeout)
      .then(apply, failed)
      .finally(() => {
        if (pending === p) pending = undefined
      })
    pending = p
    return p
  }

  function apply(jwks: { keys: JWK[] }) {
    const before = new Map((entries ?? []).map((e) => [e.id, e]))
    const next: JwkEntry[] = []
    const seen = new Set<string>()
    for (const jwk of jwks.keys) {
      const id = identity(jwk)
      if (seen.has(id)) continue
      seen.add(id)
      next.push(before.get(id) ?? jwkEntry(jwk))
      before.delete(id)
    }
    // Keys the issuer stopped publishing: tokens they signed leave the verified-token cache.
    for (const gone of before.values()) gone.live = false
    if (entries !== undefined && (before.size > 0 || next.length !== entries.length))
      notice({
        kind: 'jwks-updated',
        level: 'info',
        msg: `keys of ${o.issuer} changed`,
        issuer: o.issuer,
        kids: next.map((e) => e.kid ?? null),
        removed: [...before.values()].map((e) => e.kid ?? null),
      })
    entries = next
    fetchedAt = o.clock.now()
    lastError = ''
  }

  function failed(err: unknown) {
    lastError = String((err as Error)?.message ?? err)
    const now = o.clock.now()
    const serving = entries !== undefined && now - fetchedAt <= o.maxStale
    notice({
      kind: serving ? 'jwks-stale' : 'jwks-unavailable',
      level: serving ? 'warn' : 'error',
      msg: serving
        ? `cannot refresh the keys of ${o.issuer}; serving the ${entries!.length} keys fetched ${Math.round((now - fetchedAt) / 1000)}s ago`
        : `cannot fetch the keys of ${o.issuer}; its tokens get 503 until it answers`,
      issuer: o.issuer,
      url: o.url,
      error: lastError,
      retryInMs: o.cooldown,
    })
  }

  function current(alg: string, kid: string | undefined): KeyLookup {
    if (entries !== undefined && o.clock.now() - fetchedAt <= o.maxStale)
      return select(entries, alg, kid)
    return {
      kind: 'unavailable',
      reason: `keys of ${o.issuer} unavailable${lastError ? ` (${lastError})` : ''}`,
    }
  }

  function refreshIfDue(now: number) {
    // Stale-while-revalidate: the request at hand uses the keys already fetched.
    if (!pending && now - fetchedAt > o.refreshInterval && now - lastAttempt >= o.cooldown)
      void refresh(now)
  }

  return {
    refreshIfDue,
    find(alg, kid, now) {
      const mayFetch = pending !== undefined || now - lastAttempt >= o.cooldown
      if (entries === undefined || now - fetchedAt > o.maxStale) {
        if (!mayFetch) return current(alg, kid)
        return refresh(now).then(() => current(alg, kid))
      }
      refreshIfDue(now)
      const hit = select(entries, alg, kid)
      if (hit.kind === 'key' || !mayFetch) return hit
      // An unknown kid: maybe the issuer rotated. One fetch per cooldown, shared by everyone.
      return refresh(now).then(() => current(alg, kid))
    },
  }
}

async function load(url: string, timeout: number): Promise<{ keys: JWK[] }> {
  const res = await fetch(url, {
    redirect: 'manual',
    signal: AbortSignal.timeout(timeout),
    headers: { accept: 'application/jwk-set+json, application/json' },
  })
  if (res.status !== 200) {
    await res.body?.cancel()
    throw new Error(`HTTP ${res.status} from ${url}`)
  }
  const length = Number(res.headers.get('content-length') ?? 0)
  if (length > MAX_JWKS_BYTES) {
    await res.body?.cancel()
    throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`)
  }
  const text = await res.text()
  if (text.length > MAX_JWKS_BYTES) throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`)
  const json: unknown = JSON.parse(text)
  const keys = (json as { keys?: unknown })?.keys
  if (!Array.isArray(keys)) throw new Error('not a JWK set (no "keys" array)')
  return {
    keys: keys.filter(
      (k): k is JWK => typeof k === 'object' && k !== null && typeof k.kty === 'string',
    ),
  }
}
