/**
 * The config schema: the gateway's own keys plus one block per layer type (from the registry).
 * Strict (unknown keys are errors), defaulted here and nowhere else, exported as JSON Schema by
 * `bulwark schema`. Every key is described in README.md#configuration.
 */
import { z } from 'zod'
import { layerTypes } from '../layers/registry.js'
import { method, mode, routePattern } from '../layers/common.js'
import { cidrProblem } from '../request/client.js'
import { IdentitySpec, StoreSpec } from '../identity/spec.js'
import { ChallengeSpec } from '../challenge/spec.js'
import { isLoopback } from '../admin/loopback.js'
import { duration, size } from './units.js'

const cidr = z.string().check((ctx) => {
  if (cidrProblem(ctx.value))
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `expected an IP or CIDR like "10.0.0.0/8", got ${JSON.stringify(ctx.value)}`,
    })
})

const port = z.number().int().min(0).max(65535)
const positiveInt = z.number().int().positive()

/** Forms of path a route may opt in to; everything else ambiguous is refused with 400. */
export const AMBIGUITIES = [
  'encoded-slash',
  'encoded-backslash',
  'backslash',
  'nul',
  'control-char',
  'invalid-utf8',
  'non-nfkc',
  'semicolon',
  'dot-above-root',
] as const

export const ServerSpec = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(8080),
  /** Proxies (CIDRs) whose forwarding header is believed. Empty: the socket address is the client. */
  trustedProxies: z.array(cidr).default([]),
  /** The header the trusted proxies set. */
  clientIpHeader: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
  ipv6Prefix: z.number().int().min(16).max(128).default(64),
  pathCase: z.enum(['sensitive', 'insensitive', 'lower']).default('insensitive'),
  headersTimeout: duration.default(10_000),
  bodyTimeout: duration.default(30_000),
  keepAliveTimeout: duration.default(5_000),
  maxHeaders: positiveInt.default(100),
  maxHeaderSize: size.default(16 * 1024),
  /** A longer request target (path and query) is refused with 414. */
  maxUrlLength: size.default(8 * 1024),
  /** Largest body a layer may buffer to inspect; a larger body on such a route is a 413. */
  maxBodySize: size.default(1024 * 1024),
  shutdownTimeout: duration.default(10_000),
  /**
   * Forwarding headers the gateway sets on upstream requests (from a trusted proxy, the ones it
   * sent pass through, X-Forwarded-For extended by one hop). `x-forwarded-host` repeats the Host
   * header, which is forwarded as received, and `x-forwarded-proto` is always `http` from this
   * listener: list them for a backend that insists on them.
   */
  forwardedHeaders: z
    .array(z.enum(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']))
    .default(['x-forwarded-for']),
  requestIdHeader: z.string().toLowerCase().default('x-request-id'),
  /** Keep a request id the client (or a trusted proxy) sent instead of making a new one. */
  trustRequestId: z.boolean().default(false),
  /**
   * Requests carrying a header that re-routes a request inside some backends (X-Original-URL,
   * X-HTTP-Method-Override…): `refuse` answers 400, `strip` forwards the request without it.
   */
  overrideHeaders: z.enum(['refuse', 'strip']).default('refuse'),
})

export const UpstreamSpec = z.strictObject({
  url: z.url({
    protocol: /^https?$/,
    error: (i) => `expected an http:// or https:// URL, got ${JSON.stringify(i.input)}`,
  }),
  connections: positiveInt.default(128),
  connectTimeout: duration.default(5_000),
  /** Time to wait for the upstream's response head. */
  timeout: duration.default(30_000),
  /** Longest silence between two chunks of the upstream's body. */
  bodyTimeout: duration.default(30_000),
})

export const RouteSpec = z.strictObject({
  path: routePattern,
  methods: z.array(method).default([]),
  /** Upstream name; a route without one is answered 404 by the gateway. */
  upstream: z.string().optional(),
  allowAmbiguous: z.array(z.enum(AMBIGUITIES)).default([]),
  maxBodySize: size.optional(),
})

export const LogSpec = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Log every request, not only decisions other than a plain allow. */
  access: z.boolean().default(false),
})

/** The admin listener: /metrics, the admin API and the dashboard. See docs/dashboard.md. */
export const AdminSpec = z.strictObject({
  enabled: z.boolean().default(true),
  /** Loopback by default; any other address requires a `token`. */
  host: z.string().default('127.0.0.1'),
  port: port.default(9090),
  /** Bearer token for every admin endpoint except /healthz and /readyz. Empty means none. */
  token: z.string().optional(),
  /** Decisions kept in memory for the admin API and the dashboard's feed and drill-down. */
  recent: positiveInt.max(100_000).default(2_000),
})

const layerBlocks = Object.fromEntries(
  Object.values(layerTypes).map((t) => [t.type, t.spec.optional()]),
) as { [K in keyof typeof layerTypes]: z.ZodOptional<(typeof layerTypes)[K]['spec']> }

export const ConfigSpec = z
  .strictObject({
    version: z.literal(1).default(1),
    mode: mode.default('enforce'),
    server: ServerSpec.prefault({}),
    upstreams: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), UpstreamSpec).default({}),
    routes: z.array(RouteSpec).default([]),
    log: LogSpec.prefault({}),
    /** The admin listener: metrics, admin API and dashboard (loopback by default). */
    admin: AdminSpec.prefault({}),
    /** Where limits, flags and risk keep their state: `memory` (one process) or `redis`. */
    store: StoreSpec.prefault({ type: 'memory' }),
    /** Where identity facets (account, session, API key, fingerprint) come from. */
    identity: IdentitySpec.prefault({}),
    /** The proof-of-work puzzle an enforced `challenge` asks for (none: a plain 401). */
    challenge: ChallengeSpec.optional(),
    ...layerBlocks,
  })
  .check((ctx) => {
    const admin = ctx.value.admin
    if (admin.enabled && admin.token && admin.token.length < 16)
      ctx.issues.push({
        code: 'custom',
        input: admin.token,
        path: ['admin', 'token'],
        message: `expected at least 16 characters, got ${admin.token.length}`,
      })
    if (admin.enabled && !admin.token && !isLoopback(admin.host))
      ctx.issues.push({
        code: 'custom',
        input: admin.token,
        path: ['admin', 'token'],
        message: `required when admin.host is not a loopback address (${JSON.stringify(admin.host)}): set one, e.g. token: \${BULWARK_ADMIN_TOKEN}`,
      })
    const names = Object.keys(ctx.value.upstreams)
    ctx.value.routes.forEach((r, i) => {
      if (r.upstream !== undefined && !names.includes(r.upstream))
        ctx.issues.push({
          code: 'custom',
          input: r.upstream,
          path: ['routes', i, 'upstream'],
          message: `expected the name of an upstream (${names.map((n) => JSON.stringify(n)).join(', ') || 'none defined'}), got ${JSON.stringify(r.upstream)}`,
        })
    })
  })

export type Config = z.output<typeof ConfigSpec>
export type ServerConfig = Config['server']
export type UpstreamConfig = z.output<typeof UpstreamSpec>
export type RouteConfig = z.output<typeof RouteSpec>
export type AdminConfig = Config['admin']
