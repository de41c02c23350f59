/**
 * The `auth:` block: which issuers' tokens are believed (and how their keys are found), which
 * routes need what (a token, scopes, claims, step-up), and the built-in TOTP second factor.
 * Strict and defaulted here; `layer.ts` compiles it.
 * @see ../../../docs/auth.md#configuration
 */
import { z } from 'zod'
import { duration } from '../../config/units.js'
import { method, mode, routePattern, ruleId } from '../common.js'
import { IssuerSpec } from './issuer-spec.js'

/** A claim requirement: a value (an array claim must contain it), any of a list, or a route parameter. */
const scalar = z.union([z.string(), z.number(), z.boolean()])
export const ClaimExpr = z.union([
  scalar,
  z.array(scalar).min(1),
  z.strictObject({ param: z.string().min(1) }),
])
export type ClaimExpr = z.output<typeof ClaimExpr>

/** RFC 6749 scope-token: printable ASCII without space, `"` or `\`. */
const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, {
  error: (i) =>
    `expected one scope (no spaces: list several as separate items), got ${JSON.stringify(i.input)}`,
})

/** Headers a claim may not be forwarded in: they frame or route the request. */
const RESERVED_HEADERS = new Set([
  'host',
  'authorization',
  'cookie',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'proxy-authorization',
  'x-forwarded-for',
  'forwarded',
])
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
    error: (i) => `expected a header name, got ${JSON.stringify(i.input)}`,
  })
  .transform((s) => s.toLowerCase())
  .refine((s) => !RESERVED_HEADERS.has(s), {
    error: (i) => `header ${JSON.stringify(i.input)} cannot carry a claim`,
  })

export const StepUpSpec = z.union([
  z
    .strictObject({
      /** The token's `acr` must be one of these (RFC 9470 `acr_values`). */
      acr: z.array(z.string().min(1)).min(1).optional(),
      /** The token's `amr` must contain at least one of these methods (`otp`, `hwk`, `mfa`…). */
      amr: z.array(z.string().min(1)).min(1).optional(),
      /** The user must have authenticated (`auth_time`) at most this long ago. */
      maxAge: duration.optional(),
    })
    .refine((s) => s.acr || s.amr || s.maxAge !== undefined, {
      error: 'needs acr, amr or maxAge (or totp: true)',
    }),
  z.strictObject({
    /** A current TOTP code from the account's enrolment, in the `auth.totp.header` header. */
    totp: z.literal(true),
  }),
])
export type StepUpSpec = z.output<typeof StepUpSpec>

export const AuthRule = z
  .strictObject({
    id: ruleId,
    /** Route patterns the rule guards; none means every path. */
    paths: z.array(routePattern).default([]),
    /**
     * Route patterns left out of `paths` (any method): a catch-all that requires a token
     * everywhere but sign-in and sign-up, so a route added later is guarded by default.
     */
    except: z.array(routePattern).default([]),
    methods: z.array(method).default([]),
    require: z
      .strictObject({
        /** A valid token is required. With `false` a token is optional, but refused when invalid. */
        authenticated: z.boolean().default(true),
        /** Every one of these scopes (`scope` string or `scp` array, whole words). */
        scopes: z.array(scopeToken).default([]),
        /** Claim → expected value(s); dotted names reach into objects (`realm_access.roles`). */
        claims: z.record(z.string().min(1), ClaimExpr).default({}),
      })
      .prefault({}),
    /** Only tokens from these issuers satisfy the rule (default: any configured issuer). */
    issuers: z.array(z.string().min(1)).min(1).optional(),
    /** Step-up authentication for critical routes (RFC 9470, or built-in TOTP). */
    stepUp: StepUpSpec.optional(),
    /** Claim → upstream request header; a client's own copy of those headers is always removed. */
    forwardClaims: z.record(z.string().min(1), headerName).default({}),
    mode: mode.optional(),
  })
  .check((ctx) => {
    const r = ctx.value
    const needs = [
      r.require.scopes.length ? 'scopes' : '',
      Object.keys(r.require.claims).length ? 'claims' : '',
      r.stepUp ? 'stepUp' : '',
    ].filter(Boolean)
    if (!r.require.authenticated && needs.length)
      ctx.issues.push({
        code: 'custom',
        input: r.require,
        path: ['require', 'authenticated'],
        message: `cannot be false with ${needs.join(' and ')}: those need a token`,
      })
  })
export type AuthRuleSpec = z.output<typeof AuthRule>

/** 32 bytes, as 64 hex digits or base64 (44 characters). */
const aesKey = z.string().refine((s) => keyBytes(s) !== undefined, {
  error: 'expected a 256-bit key: 64 hex digits or 44 base64 characters (openssl rand -base64 32)',
})

/** The AES-256 key bytes in `s`, or undefined when it is not one. */
export function keyBytes(s: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex')
  if (/^[A-Za-z0-9+/]{43}=$/.test(s)) return Buffer.from(s, 'base64')
  return undefined
}

export const TotpSpec = z.strictObject({
  /** Request header carrying the current code. Removed before the request goes upstream. */
  header: z.string().min(1).toLowerCase().default('x-totp-code'),
  /** Encrypts stored secrets (AES-256-GCM). Use `${BULWARK_TOTP_KEY}`. */
  encryptionKey: aesKey,
  /** Name shown in authenticator apps. */
  issuer: z.string().min(1).default('Bulwark'),
  /** Time steps (30s) accepted either side of now, for clock drift. */
  skew: z.number().int().min(0).max(2).default(1),
  /** Wrong codes per account within `failureWindow` before codes are refused outright. */
  maxFailures: z.number().int().positive().default(5),
  failureWindow: duration
    .refine((ms) => ms >= 1000, { error: 'expected at least 1s' })
    .default(900_000),
})
export type TotpSpec = z.output<typeof TotpSpec>

/** `auth:` — bearer tokens checked at the edge, route policies, step-up. */
export const AuthSpec = z
  .strictObject({
    issuers: z.array(IssuerSpec).min(1),
    rules: z.array(AuthRule).default([]),
    /** `realm` in WWW-Authenticate challenges. */
    realm: z
      .string()
      .regex(/^[^"\\\r\n]*$/, { error: 'expected no quotes, backslashes or line breaks' })
      .optional(),
    token: z
      .strictObject({
        /** Also take the token from this cookie (browser apps). A request with both is refused. */
        cookie: z.string().min(1).optional(),
      })
      .prefault({}),
    /** Verified tokens, so a hot token is not re-verified on every request. */
    cache: z
      .strictObject({
        /** Most tokens kept (0 turns the cache off). */
        maxEntries: z.number().int().min(0).default(10_000),
        /** A token is re-verified at least this often (and never used past its `exp`). */
        maxAge: duration.default(300_000),
      })
      .prefault({}),
    totp: TotpSpec.optional(),
  })
  .check((ctx) => {
    const a = ctx.value
    const seen = new Set<string>()
    a.issuers.forEach((i, n) => {
      if (seen.has(i.issuer))
        ctx.issues.push({
          code: 'custom',
          input: i.issuer,
          path: ['issuers', n, 'issuer'],
          message: `duplicate issuer ${JSON.stringify(i.issuer)}`,
        })
      seen.add(i.issuer)
    })
    const ids = new Set<string>()
    a.rules.forEach((r, n) => {
      if (ids.has(r.id))
        ctx.issues.push({
          code: 'custom',
          input: r.id,
          path: ['rules', n, 'id'],
          message: `duplicate rule id ${JSON.stringify(r.id)}`,
        })
      ids.add(r.id)
      r.issuers?.forEach((iss, k) => {
        if (!seen.has(iss))
          ctx.issues.push({
            code: 'custom',
            input: iss,
            path: ['rules', n, 'issuers', k],
            message: `expected one of the configured issuers, got ${JSON.stringify(iss)}`,
          })
      })
      if (r.stepUp && 'totp' in r.stepUp && !a.totp)
        ctx.issues.push({
          code: 'custom',
          input: r.stepUp,
          path: ['rules', n, 'stepUp', 'totp'],
          message: 'needs an auth.totp block (header, encryptionKey)',
        })
    })
  })
export type AuthSpec = z.output<typeof AuthSpec>
