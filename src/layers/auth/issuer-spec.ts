/**
 * One `auth.issuers[]` entry: whose tokens are believed, how their keys are found (JWKS URL,
 * inline public keys or a shared secret — exactly one), which algorithms they may use, and the
 * JWKS cache timings. An issuer is either asymmetric or HMAC, never both.
 * @see ../../../docs/auth.md#authissuers
 */
import { z } from 'zod'
import { duration } from '../../config/units.js'

/** Signature algorithms a key set (JWKS or static public keys) may be used with. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const
/** Algorithms a shared `secret` may be used with, and nothing else may. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
export const ALGORITHMS = [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS] as const
export type Algorithm = (typeof ALGORITHMS)[number]

const algorithm = z.enum(ALGORITHMS, {
  error: (i) =>
    /^none$/i.test(String(i.input))
      ? `"none" is never accepted: every token must be signed`
      : `expected one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(i.input)}`,
})

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/

/** https, or http to this machine only: keys fetched over plain http could be swapped in transit. */
const jwksUri = z.url({ protocol: /^https?$/ }).check((ctx) => {
  const u = new URL(ctx.value)
  if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname))
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `expected an https:// URL (http is accepted for loopback hosts only), got ${JSON.stringify(ctx.value)}`,
    })
})

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const

/** A public JWK (RFC 7517). Private members are refused: the gateway only ever verifies. */
const publicJwk = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP'], {
      error: (i) =>
        `expected a public key type "RSA", "EC" or "OKP" (a shared secret goes in "secret"), got ${JSON.stringify(i.input)}`,
    }),
    kid: z.string().min(1).optional(),
    alg: algorithm.optional(),
    use: z.string().optional(),
  })
  .check((ctx) => {
    const found = PRIVATE_MEMBERS.find((m) => m in ctx.value)
    if (found)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected a public key, got a private member "${found}" (publish the public half only)`,
      })
  })

export const IssuerSpec = z
  .strictObject({
    /** The exact `iss` of this issuer's tokens. */
    issuer: z.string().min(1),
    /** Accepted `aud` values: a token must name at least one. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Where the issuer publishes its keys (`jwks_uri` of its discovery document)… */
    jwksUri: jwksUri.optional(),
    /** …or its public keys, inline… */
    keys: z.array(publicJwk).min(1).optional(),
    /** …or a shared secret (HS256/384/512 only; at least 32 bytes). */
    secret: z
      .string()
      .refine((s) => Buffer.byteLength(s) >= 32, {
        error: 'expected a secret of at least 32 bytes (256 bits)',
      })
      .optional(),
    /** Algorithms accepted from this issuer; the token's `alg` must be one of them, exactly. */
    algorithms: z.array(algorithm).min(1).default(['RS256', 'ES256']),
    /** Allowed clock skew for `exp`, `nbf` and `iat`. */
    clockTolerance: duration
      .refine((ms) => ms <= 300_000, { error: 'expected at most 5m' })
      .default(30_000),
    /** Claims a token must carry besides `iss`, `aud` and `exp` (always required). */
    requiredClaims: z.array(z.string().min(1)).default([]),
    /** Required `typ` header, such as `at+jwt` (RFC 9068 access tokens). */
    typ: z.string().min(1).optional(),
    /** JWKS: keys older than this are refreshed in the background (served meanwhile). */
    refreshInterval: duration.default(600_000),
    /** JWKS: at most one fetch per this interval, however many unknown `kid`s arrive. */
    cooldown: duration.default(30_000),
    /** JWKS: a fetch that takes longer fails. */
    fetchTimeout: duration
      .refine((ms) => ms >= 1, { error: 'expected at least 1ms' })
      .default(5_000),
    /** JWKS: while the issuer cannot be reached, keys are served this long after the last fetch. */
    maxStale: duration.default(86_400_000),
  })
  .check((ctx) => {
    const i = ctx.value
    const sources = (['jwksUri', 'keys', 'secret'] as const).filter((k) => i[k] !== undefined)
    if (sources.length !== 1)
      ctx.issues.push({
        code: 'custom',
        input: i,
        message:
          sources.length === 0
            ? 'needs one key source: jwksUri, keys or secret'
            : `expected one key source, got ${sources.join(' and ')}`,
      })
    const hmac = i.algorithms.filter((a) => (HMAC_ALGORITHMS as readonly string[]).includes(a))
    // One issuer is either symmetric or asymmetric, so a public key can never be used as an
    // HMAC secret (the RS256 → HS256 key confusion attack) and a secret never as a public key.
    if (i.secret !== undefined && hmac.length !== i.algorithms.length)
      ctx.issues.push({
        code: 'custom',
        input: i.algorithms,
        path: ['algorithms'],
        message: `a secret is only used with ${HMAC_ALGORITHMS.join(', ')}; set algorithms: [HS256]`,
      })
    if (i.secret === undefined && hmac.length > 0)
      ctx.issues.push({
        code: 'custom',
        input: i.algorithms,
        path: ['algorithms'],
        message: `${hmac.join(', ')} needs a shared "secret"; public keys are never used as HMAC secrets`,
      })
  })
export type IssuerSpec = z.output<typeof IssuerSpec>
