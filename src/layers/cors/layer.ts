/**
 * The `cors` layer: CORS decided at the edge, per route, by Bulwark's policy rather than the
 * backend's. Preflights are answered here (the backend never sees them); the answers to actual
 * requests carry the policy's CORS headers, which replace whatever the backend sent, so a
 * careless `Access-Control-Allow-Origin: *` (or a reflected origin) upstream cannot leak. A
 * cross-origin request from an origin the policy does not allow is refused when it carries
 * credentials (cookies, Authorization), and forwarded without CORS headers otherwise.
 * @see ../../../docs/contract.md#cors
 */
import type { HeaderMap, Layer, LayerDeps, RequestContext, Verdict } from '../../engine/types.js'
import { compileRoutes } from '../../request/routes.js'
import type { LayerType } from '../layer-type.js'
import { setCorsHeaders, setPreflightAnswered } from './answer-headers.js'
import { originMatcher, type OriginMatcher } from './origins.js'
import { CorsSpec, type CorsRuleSpec } from './spec.js'

const ACAO = 'access-control-allow-origin'
const ACAC = 'access-control-allow-credentials'
const ACEH = 'access-control-expose-headers'

/** Every CORS header a backend could send: on covered paths, only the policy's go out. */
const NONE: HeaderMap = Object.freeze({
  [ACAO]: '',
  [ACAC]: '',
  [ACEH]: '',
  'access-control-allow-methods': '',
  'access-control-allow-headers': '',
  'access-control-max-age': '',
  'access-control-allow-private-network': '',
})
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'

interface Rule {
  readonly name: string
  readonly spec: CorsRuleSpec
  readonly origins: OriginMatcher
  readonly methods: ReadonlySet<string>
  readonly headers: ReadonlySet<string>
  readonly monitor: boolean
  /** The verdict for a request that is not cross-origin: strip the backend's CORS headers. */
  readonly strip: Verdict
  readonly allowMethods: string
  readonly maxAge: string
}

export const cors: LayerType<CorsSpec> = {
  type: 'cors',
  spec: CorsSpec,
  create(spec, deps: LayerDeps): Layer {
    const rules: Rule[] = spec.rules.map((r, i) => {
      const name = `cors.${r.id ?? i}`
      const monitor = (r.mode ?? deps.mode) === 'monitor'
      return {
        name,
        spec: r,
        origins: originMatcher(r.origins),
        methods: new Set(r.methods.map((m) => m.toUpperCase())),
        headers: new Set(r.headers.map((h) => h.toLowerCase())),
        monitor,
        strip: Object.freeze({
          action: 'allow',
          rule: name,
          reason: 'not a cross-origin request: no CORS headers',
          monitor,
          headers: NONE,
          quiet: true,
        }),
        allowMethods: r.methods.join(', '),
        maxAge: String(Math.floor(r.maxAge / 1000)),
      }
    })
    const matcher = compileRoutes(
      rules.map((r, i) => ({ paths: r.spec.paths.length ? r.spec.paths : ['/*'], value: i })),
      deps.foldCase ?? true,
    )

    function preflight(rule: Rule, ctx: RequestContext, origin: string, method: string): Verdict {
      const r = rule.spec
      const asked = requestedHeaders(ctx)
      const refusal = !rule.origins.allows(origin)
        ? 'origin not allowed'
        : !rule.methods.has('*') && !rule.methods.has(method.toUpperCase())
          ? `method ${method} not allowed`
          : rule.headers.has('*')
            ? undefined
            : headerRefusal(rule, asked)
      if (refusal)
        return {
          action: 'block',
          rule: rule.name,
          reason: `CORS preflight from ${origin} for ${method}: ${refusal}`,
          monitor: rule.monitor,
          status: 403,
          headers: { vary: PREFLIGHT_VARY },
          data: { origin, method },
        }
      const headers: Record<string, string> = {
        [ACAO]: rule.origins.any ? '*' : origin,
        'access-control-allow-methods': rule.allowMethods,
        'access-control-max-age': rule.maxAge,
        vary: PREFLIGHT_VARY,
      }
      if (r.credentials) headers[ACAC] = 'true'
      if (asked.length) headers['access-control-allow-headers'] = asked.join(', ')
      if (!rule.monitor) setPreflightAnswered(ctx)
      return {
        action: 'allow',
        rule: rule.name,
        reason: `CORS preflight from ${origin} for ${method}: allowed`,
        monitor: rule.monitor,
        status: 204,
        headers,
      }
    }

    function actual(rule: Rule, ctx: RequestContext, origin: string): Verdict {
      const r = rule.spec
      if (rule.origins.allows(origin)) {
        const own: Record<string, string> = { [ACAO]: rule.origins.any ? '*' : origin }
        if (r.credentials) own[ACAC] = 'true'
        if (r.exposeHeaders.length) own[ACEH] = r.exposeHeaders.join(', ')
        if (!rule.monitor) setCorsHeaders(ctx, own)
        return {
          action: 'allow',
          rule: rule.name,
          reason: `cross-origin request from ${origin}: allowed`,
          monitor: rule.monitor,
          headers: { ...NONE, ...own },
        }
      }
      const credentials =
        ctx.headers.cookie !== undefined
          ? 'cookie'
          : ctx.headers.authorization !== undefined
            ? 'authorization'
            : undefined
      if (credentials)
        return {
          action: 'block',
          rule: rule.name,
          reason: `cross-origin request from ${origin} (not an allowed origin) carries credentials (${credentials})`,
          monitor: rule.monitor,
          status: 403,
          data: { origin, credentials },
        }
      return {
        action: 'log',
        rule: rule.name,
        reason: `cross-origin request from ${origin} (not an allowed origin): answered without CORS headers`,
        monitor: rule.monitor,
        headers: NONE,
        data: { origin },
      }
    }

    return {
      name: 'cors',
      check: function corsCheck(ctx) {
        if (rules.length === 0) return undefined
        const hit = matcher.best(ctx.method, ctx.pathKey)
        if (!hit) return undefined
        const rule = rules[hit.value]!
        const origin = ctx.headers.origin
        if (origin === undefined || sameOrigin(origin, ctx.headers.host)) return rule.strip
        const method = ctx.headers['access-control-request-method']
        if (ctx.method === 'OPTIONS' && typeof method === 'string')
          return preflight(rule, ctx, origin, method.trim())
        return actual(rule, ctx, origin)
      },
    }
  },
}

/** A page's request to its own host carries an Origin too (POSTs do): it is not cross-origin. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  const at = origin.indexOf('://')
  return at > 0 && origin.slice(at + 3).toLowerCase() === host.toLowerCase()
}

/** Access-Control-Request-Headers as a list of lower-case names. */
function requestedHeaders(ctx: RequestContext): string[] {
  const raw = ctx.headers['access-control-request-headers']
  if (typeof raw !== 'string' || raw.trim() === '') return []
  return raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '')
}

function headerRefusal(rule: Rule, asked: readonly string[]): string | undefined {
  for (const h of asked) if (!rule.headers.has(h)) return `header ${h} not allowed`
  return undefined
}
