import { z } from 'zod'
import { routePattern } from '../layers/common.js'
import { duration } from '../config/units.js'

/** Where an account name comes from; the first source that yields one wins. */
export const AccountSource = z.union([
  z.strictObject({
    /** A JSON, form or multipart body field (the same name in each). */
    body: z.string().min(1),
    /** Routes whose bodies carry the field (bodies are read only there). */
    paths: z.array(routePattern).min(1),
  }),
  z.strictObject({ header: z.string().min(1).toLowerCase() }),
  z.strictObject({ query: z.string().min(1), paths: z.array(routePattern).default(['/*']) }),
])

export const DEFAULT_FINGERPRINT_HEADERS = [
  'user-agent',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
] as const

const secret = z
  .string()
  .min(32, { error: 'expected at least 32 characters (openssl rand -base64 32)' })

/**
 * An HMAC key (32+ characters), or a list of them that rotates: the first signs, every one
 * verifies. Read as a list. Used by the device cookie and the proof-of-work puzzles.
 */
export const hmacSecrets = z
  .union([secret, z.array(secret).min(1)])
  .transform((s) => (typeof s === 'string' ? [s] : s))

/**
 * `identity.device:` — the signed device cookie Bulwark issues (src/identity/device.ts). Off
 * unless configured.
 */
export const DeviceSpec = z
  .strictObject({
    /** The cookie's name. */
    cookie: z
      .string()
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: 'expected a cookie name (RFC 6265 token)' })
      .default('bw_device'),
    /**
     * The HMAC key, the same on every instance (at least 32 characters). A list rotates keys: the
     * first signs, every one verifies. Without one, a key is made per process, and devices are
     * forgotten on restart and unknown to other instances (a startup warning says so).
     */
    secret: hmacSecrets.optional(),
    /**
     * How long a device must have been known (since its first cookie) before it is trusted: the
     * risk score treats it as the client's own identity, and limits can tell `trusted` from
     * `untrusted` devices. A device issued a moment ago vouches for nothing.
     */
    trustAfter: duration.default(10 * 60_000),
    /** How long a cookie is valid; one in use is re-issued once past half of it. */
    maxAge: duration
      .refine((ms) => ms >= 60_000, { message: 'expected at least 1m' })
      .default(30 * 86_400_000),
    /** `Secure` attribute: leave on behind TLS; off only for plain-HTTP demos and tests. */
    secure: z.boolean().default(true),
    sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
  })
  .check((ctx) => {
    if (ctx.value.sameSite === 'none' && !ctx.value.secure)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: ['sameSite'],
        message: 'sameSite: none needs secure: true (browsers drop such cookies otherwise)',
      })
  })
export type DeviceSpec = z.output<typeof DeviceSpec>

/** `identity:` — where the facets that limits can key on come from. */
export const IdentitySpec = z.strictObject({
  account: z.array(AccountSource).default([]),
  /**
   * Where a session is read: a cookie, or a header (a mobile app's session token, an opaque
   * bearer token in `authorization`: its scheme is case-folded, `Bearer T` and `bearer T` are one).
   */
  session: z
    .union([
      z.strictObject({ cookie: z.string().min(1) }),
      z.strictObject({ header: z.string().min(1).toLowerCase() }),
    ])
    .optional(),
  apiKey: z.strictObject({ header: z.string().min(1).toLowerCase() }).optional(),
  fingerprint: z
    .strictObject({ headers: z.array(z.string().toLowerCase()).min(1) })
    .default({ headers: [...DEFAULT_FINGERPRINT_HEADERS] }),
  device: DeviceSpec.optional(),
})
export type IdentitySpec = z.output<typeof IdentitySpec>

export const StoreSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('memory'),
    maxKeys: z.number().int().positive().default(1_000_000),
  }),
  z.strictObject({
    type: z.literal('redis'),
    /** `redis://host:port/db` for a standalone server… */
    url: z.string().optional(),
    /** …or the seed nodes of a Redis Cluster. */
    cluster: z.array(z.string().regex(/^[^:]+:\d+$/, { error: 'expected "host:port"' })).optional(),
    timeout: duration.default(100),
    prefix: z.string().default('bw:'),
    /** The local fallback store of rules with `onStoreError: local`. */
    maxKeys: z.number().int().positive().default(100_000),
  }),
])
export type StoreSpec = z.output<typeof StoreSpec>
