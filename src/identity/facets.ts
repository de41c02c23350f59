/**
 * Identity facets: the values limits (and later risk) key on — ip, ipPrefix, route, account,
 * session, apiKey, fingerprint, device — and request parts (`param:id`, `header:x`, `query:q`,
 * `field:f`, `cookie:c`). Each is compiled once into a getter; getters fill `ctx.identity` so
 * a facet is computed at most once per request, and bodies are read only where a source needs
 * them.
 * @see ../../README.md#identity-facets
 */
import { sha256 } from '../request/hash.js'
import type { MaybePromise, RequestContext } from '../engine/types.js'
import { AMBIGUOUS, bodyFields } from '../request/body.js'
import { compileRoutes } from '../request/routes.js'
import { cookieValue, CONFLICTING } from '../request/cookie.js'
import type { IdentitySpec } from './spec.js'

export const FACETS = [
  'ip',
  'ipPrefix',
  'route',
  'method',
  'account',
  'session',
  'apiKey',
  'fingerprint',
  'device',
] as const
export type FacetName = (typeof FACETS)[number]
const PARTS = ['param', 'header', 'query', 'field', 'cookie'] as const

/**
 * A header an identity is read from, or a Refusal when the request carries it more than once.
 * Node joins repeats (`a, b`) or keeps the first, while the backend gets every copy and may read
 * another one: a limit keyed on `victim, <random>` would be a fresh key per request. So the raw
 * header list is counted, never the joined value trusted.
 */
function oneHeader(ctx: RequestContext, lower: string): string | undefined | Refusal {
  const v = ctx.headers[lower]
  if (v === undefined) return undefined
  if (typeof v !== 'string') return new Refusal(`header ${lower} given more than once`)
  const raw = ctx.rawHeaders
  let copies = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === lower.length && name.toLowerCase() === lower && ++copies > 1)
      return new Refusal(`header ${lower} given more than once`)
  }
  return v
}

/** A request the facet cannot be read from without ambiguity: it must be refused with 400. */
export class Refusal {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

export type FacetValue = string | undefined | Refusal
/** `params` are the route parameters of the rule's own pattern (for `param:NAME`). */
export type FacetGetter = (
  ctx: RequestContext,
  params?: Readonly<Record<string, string>>,
) => MaybePromise<FacetValue>

/** Why a facet reference is malformed, or undefined (used by config validation). */
export function facetProblem(ref: string): string | undefined {
  if ((FACETS as readonly string[]).includes(ref)) return undefined
  const colon = ref.indexOf(':')
  const part = colon > 0 ? ref.slice(0, colon) : ''
  if ((PARTS as readonly string[]).includes(part) && ref.length > colon + 1) return undefined
  return `expected one of ${FACETS.join(', ')}, or param:NAME, header:NAME, query:NAME, field:NAME, cookie:NAME`
}

/** Trimmed, NFKC-normalised and case-folded, so `Victim`, ` victim` and `ｖｉｃｔｉｍ` are one account. */
export function canonicalAccount(v: string): string | undefined {
  const s = v.normalize('NFKC').trim().toLowerCase()
  return s === '' ? undefined : s
}

/**
 * Compiles the `identity:` block into facet getters.
 * @example
 * const facets = identityFacets(spec)
 * const getAccount = facets.getter('account')
 */
/**
 * Session ids and API keys are credentials: Bulwark keys its state, flags, events and logs on
 * this digest of them (`~` and 22 base64url characters of SHA-256), never on the value, so a log
 * line, a Redis key or the dashboard cannot be replayed against the API.
 * @example
 * secretDigest('s3cr3t-session') // '~…' (23 characters)
 */
export function secretDigest(value: string): string {
  return `~${sha256(value).slice(0, 22)}`
}

/** Whether `value` already is a {@link secretDigest} (the admin API accepts both forms). */
export function isSecretDigest(value: string): boolean {
  return /^~[A-Za-z0-9_-]{22}$/.test(value)
}

export function identityFacets(spec: IdentitySpec, foldCase = true) {
  const accountFromBody = spec.account.flatMap((s) => ('body' in s ? [s] : []))
  const bodyRoutes = compileRoutes(
    accountFromBody.map((s, i) => ({ paths: s.paths, value: i })),
    foldCase,
  )
  const fpHeaders = spec.fingerprint.headers
  const fpCache = new Map<string, string>()
  const fpSet = new Set(fpHeaders)
  /** Per connection: the fingerprint headers of its last request (names, values) and their fingerprint. */
  const fpLast = new WeakMap<
    object,
    { names: readonly string[]; values: readonly unknown[]; fp: string }
  >()
  // Clients send the same cookie and key request after request: digest each distinct one once.
  const secretCache = new Map<string, string>()
  function digest(value: string): string {
    let d = secretCache.get(value)
    if (d === undefined) {
      if (secretCache.size >= 10_000) secretCache.clear()
      secretCache.set(value, (d = secretDigest(value)))
    }
    return d
  }
  const apiKeyHeader = spec.apiKey?.header ?? 'x-api-key'

  /** The API key exactly as sent (for canary checks); the `apiKey` facet is its digest. */
  function apiKeyValue(ctx: RequestContext): string | undefined {
    const v = ctx.headers[apiKeyHeader]
    return typeof v === 'string' && v !== '' ? v : undefined
  }

  function account(ctx: RequestContext): MaybePromise<FacetValue> {
    const id = ctx.identity
    if (id.account !== undefined) return id.account
    for (const src of spec.account) {
      if ('header' in src) {
        const v = oneHeader(ctx, src.header)
        if (v instanceof Refusal) return v
        if (v !== undefined && (id.account = canonicalAccount(v)) !== undefined) {
          id.accountAsSent = v
          return id.account
        }
      } else if ('query' in src) {
        const values = new URLSearchParams(ctx.query).getAll(src.query)
        if (values.length > 1)
          return new Refusal(`query parameter ${src.query} given more than once`)
        if (values[0] !== undefined && (id.account = canonicalAccount(values[0])) !== undefined) {
          id.accountAsSent = values[0]
          return id.account
        }
      }
    }
    const hits = bodyRoutes.all(ctx.method, ctx.pathKey)
    if (hits.length === 0) return undefined
    return bodyFields(ctx).then((fields) => {
      if (!fields.ok) return new Refusal(fields.reason)
      for (const i of hits) {
        const field = accountFromBody[i]!.body
        const v = fields.get(field)
        if (v === undefined) continue
        if (v === AMBIGUOUS)
          return new Refusal(`body field ${JSON.stringify(field)} given more than once`)
        if (typeof v !== 'string' && typeof v !== 'number')
          return new Refusal(
            `body field ${JSON.stringify(field)} is a ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}, expected a string`,
          )
        id.account = canonicalAccount(String(v))
        if (id.account !== undefined) {
          id.accountAsSent = String(v)
          return id.account
        }
      }
      return undefined
    })
  }

  function fingerprint(ctx: RequestContext): string {
    const id = ctx.identity
    if (id.fingerprint !== undefined) return id.fingerprint
    // The order in which a client sends its headers is as telling as their values. Node keeps
    // the parsed headers in arrival order (first occurrence), already lower-cased.
    const headers = ctx.headers
    const conn = ctx.connection
    const last = conn === undefined ? undefined : fpLast.get(conn)
    // The requests of one keep-alive connection mostly send the same headers: the same names
    // in the same order with the same values give the fingerprint of the last one, without
    // hashing the whole text again (each request's header values are new strings).
    if (last !== undefined) {
      const { names, values } = last
      let k = 0
      let same = true
      for (const name in headers) {
        if (!fpSet.has(name)) continue
        if (names[k] !== name || values[k] !== headers[name]) {
          same = false
          break
        }
        k++
      }
      if (same && k === names.length) return (id.fingerprint = last.fp)
    }
    // One walk gives the text and, for the connection's memo, the names and values it read.
    const names: string[] = []
    const values: unknown[] = []
    let text = ''
    for (const name in headers)
      if (fpSet.has(name)) {
        text += name + ','
        names.push(name)
        values.push(headers[name])
      }
    for (let i = 0; i < fpHeaders.length; i++) text += '\n' + (headers[fpHeaders[i]!] ?? '')
    // Clients send the same headers request after request: hash each distinct text once.
    // Only texts of ordinary length are kept, so the cache stays small whatever clients send.
    let fp = fpCache.get(text)
    if (fp === undefined) {
      fp = sha256(text).slice(0, 16)
      if (text.length <= 2048) {
        if (fpCache.size >= 10_000) fpCache.clear()
        fpCache.set(text, fp)
      }
    }
    if (conn !== undefined) fpLast.set(conn, { names, values, fp })
    return (id.fingerprint = fp)
  }

  function cookie(ctx: RequestContext, name: string): FacetValue {
    const header = ctx.headers.cookie
    if (!header) return undefined
    const v = cookieValue(header, name)
    return v === CONFLICTING ? new Refusal(`cookie ${name} given twice with different values`) : v
  }

  function getter(ref: string): FacetGetter {
    switch (ref) {
      case 'ip':
        return (ctx) => ctx.identity.ip
      case 'ipPrefix':
        return (ctx) => ctx.identity.ipPrefix
      case 'route':
        return (ctx) => ctx.route.template
      case 'method':
        return (ctx) => ctx.method
      case 'account':
        return account
      case 'fingerprint':
        return fingerprint
      case 'device':
        // Read (and its signature checked) when the request arrived: src/identity/device.ts.
        return (ctx) => ctx.identity.device
      case 'session': {
        const s = spec.session
        if (s !== undefined && 'header' in s) {
          const name = s.header
          return (ctx) => {
            if (ctx.identity.session !== undefined) return ctx.identity.session
            const v = oneHeader(ctx, name)
            if (v instanceof Refusal) return v
            return v ? (ctx.identity.session = digest(credential(name, v))) : undefined
          }
        }
        const name = s?.cookie ?? 'session'
        return (ctx) => {
          if (ctx.identity.session !== undefined) return ctx.identity.session
          const v = cookie(ctx, name)
          return typeof v === 'string' ? (ctx.identity.session = digest(v)) : v
        }
      }
      case 'apiKey': {
        const name = apiKeyHeader
        return (ctx) => {
          if (ctx.identity.apiKey !== undefined) return ctx.identity.apiKey
          const v = oneHeader(ctx, name)
          if (v instanceof Refusal) return v
          return v ? (ctx.identity.apiKey = digest(credential(name, v))) : undefined
        }
      }
    }
    const colon = ref.indexOf(':')
    const part = ref.slice(0, colon)
    const name = ref.slice(colon + 1)
    switch (part) {
      case 'param':
        return (ctx, params) =>
          params?.[name] ?? ctx.route.params[name] ?? ctx.documented?.params[name]
      case 'header': {
        const lower = name.toLowerCase()
        return (ctx) => oneHeader(ctx, lower) || undefined
      }
      case 'query':
        return (ctx) => {
          const values = new URLSearchParams(ctx.query).getAll(name)
          return values.length > 1
            ? new Refusal(`query parameter ${name} given more than once`)
            : values[0] || undefined
        }
      case 'cookie':
        return (ctx) => cookie(ctx, name)
      case 'field':
        return (ctx) =>
          bodyFields(ctx).then((fields) => {
            if (!fields.ok) return new Refusal(fields.reason)
            const v = fields.get(name)
            if (v === undefined || v === null) return undefined
            if (v === AMBIGUOUS)
              return new Refusal(`body field ${JSON.stringify(name)} given more than once`)
            if (typeof v === 'object')
              return new Refusal(`body field ${JSON.stringify(name)} is not a single value`)
            return String(v)
          })
    }
    throw new TypeError(`unknown facet ${JSON.stringify(ref)}`)
  }

  return { getter, apiKeyValue }
}

export type IdentityFacets = ReturnType<typeof identityFacets>

/**
 * A credential header's value as one identity: in `authorization` (and `proxy-authorization`)
 * the scheme is case-insensitive (RFC 9110 §11.1) and the space after it any length, so
 * `Bearer T`, `bearer T` and `BEARER  T` are one token to the backend and must be one here, or
 * each spelling is a fresh limit (red team 10: 64 spellings of one stolen token, 64 budgets).
 * The credentials themselves are kept as sent; other headers are opaque values.
 * @example
 * credential('authorization', 'BEARER  abc') // 'bearer abc'
 */
export function credential(header: string, value: string): string {
  if (header !== 'authorization' && header !== 'proxy-authorization') return value
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]+(.*)$/.exec(value)
  return m ? `${m[1]!.toLowerCase()} ${m[2]}` : value
}
