/**
 * Builds the one canonical view of a request (RequestContext) from what a listener received,
 * or refuses the request when two parsers could read it differently.
 *
 * Refusals here are request-safety checks: they are always enforced, even in monitor mode,
 * because forwarding an ambiguous request is exactly what lets a backend and a gateway disagree.
 * @see ../../README.md#the-canonical-request
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Config, RouteConfig } from '../config/schema.js'
import { clientIpResolver, hasMethodOverrideParam, OVERRIDE_HEADERS } from '../request/client.js'
import { Ambiguity, canonicalPath, describeAmbiguity } from '../request/path.js'
import { requestId } from '../request/request-id.js'
import { compileRoutes } from '../request/routes.js'
import { deviceCookies, type REISSUE_AFTER } from '../identity/device.js'
import type {
  Clock,
  Identity,
  MaybePromise,
  RequestBody,
  RequestContext,
  RouteInfo,
  Verdict,
} from './types.js'

/** What a listener hands over: the request as it arrived. */
export interface RawRequest {
  readonly method: string
  /** The request target exactly as received (`req.url`). */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  readonly remoteAddress: string | undefined
  /**
   * The client connection (its socket), when the listener has one: a client that throws its
   * device cookie away is given a new one once per connection and {@link REISSUE_AFTER}.
   */
  readonly connection?: object
  /** `1.1`, `1.0`: with Transfer-Encoding, an HTTP/1.0 request is refused (RFC 9112 §6.1). */
  readonly httpVersion?: string
  /**
   * Reads the whole body up to `cap` bytes. Resolves `null` when the body is larger (the
   * listener stops reading), an empty buffer when there is none; rejects when the body cannot
   * be read (the client went away, or broke the framing).
   */
  readBody(cap: number): Promise<Buffer | null>
}

export interface PreparedRequest {
  readonly ctx: RequestContext
  /** Set when the request is refused before any layer runs. */
  readonly refusal?: Verdict
  /** The route's config entry, when one matched. */
  readonly routeConfig?: RouteConfig
}

/** State of a context's body, for the engine and the proxy. */
export interface BodyState {
  read: Promise<RequestBody | undefined> | undefined
  value: RequestBody | undefined
  tooLarge: boolean
  /** The body could not be read: the client went away mid-body or broke its framing. */
  unreadable: boolean
}

const AMBIGUITY_BITS: Readonly<Record<RouteConfig['allowAmbiguous'][number], number>> = {
  'encoded-slash': Ambiguity.encodedSlash,
  'encoded-backslash': Ambiguity.encodedBackslash,
  backslash: Ambiguity.backslash,
  nul: Ambiguity.nul,
  'control-char': Ambiguity.controlChar,
  'invalid-utf8': Ambiguity.invalidUtf8,
  'non-nfkc': Ambiguity.nonNfkc,
  semicolon: Ambiguity.semicolon,
  'dot-above-root': Ambiguity.dotAboveRoot,
}

const NO_PARAMS: RouteInfo['params'] = Object.freeze({})
const NO_ROUTE: RouteInfo = Object.freeze({
  template: '*',
  params: NO_PARAMS,
  upstream: undefined,
})
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface CompiledRoute {
  readonly config: RouteConfig
  readonly allowed: number
  /** The route's view when its pattern has no parameters: the same for every request. */
  readonly fixed: RouteInfo | undefined
}

/**
 * Compiles the request-facing part of the config into `prepare(raw)`.
 * @example
 * const prepare = contextFactory(config, systemClock)
 * const { ctx, refusal } = prepare(raw)
 */
export function contextFactory(config: Config, clock: Clock) {
  const server = config.server
  const routes = compileRoutes<CompiledRoute>(
    config.routes.map((r) => ({
      paths: [r.path],
      methods: r.methods,
      value: {
        config: r,
        allowed: r.allowAmbiguous.reduce((m, a) => m | AMBIGUITY_BITS[a], 0),
        fixed: r.path.includes('/:')
          ? undefined
          : Object.freeze({ template: r.path, params: NO_PARAMS, upstream: r.upstream }),
      },
    })),
    server.pathCase !== 'sensitive',
  )
  const resolveIp = clientIpResolver({
    trustedProxies: server.trustedProxies,
    header: server.clientIpHeader,
    ipv6Prefix: server.ipv6Prefix,
  })
  const idHeader = server.requestIdHeader
  const checkFraming = framingCheck(config)
  const devices = config.identity.device ? deviceCookies(config.identity.device) : undefined

  return function prepare(raw: RawRequest): PreparedRequest {
    const receivedAt = clock.now()
    const incomingId = raw.headers[idHeader]
    const id =
      server.trustRequestId && typeof incomingId === 'string' && REQUEST_ID.test(incomingId)
        ? incomingId
        : requestId()
    const client = resolveIp(raw.remoteAddress, raw.headers)
    let refusal = checkFraming(raw)

    let path = '/'
    let pathKey = '/'
    let query = ''
    let route = NO_ROUTE
    let routeConfig: RouteConfig | undefined
    if (!refusal) {
      const target = originForm(raw)
      const canon = target === undefined ? undefined : canonicalPath(target, server.pathCase)
      if (!canon || !canon.ok) {
        refusal = ambiguous(canon ? canon.reason : 'request target is not a path on this host', 400)
      } else {
        path = canon.path
        pathKey = canon.key
        query = canon.query
        if (query !== '' && hasMethodOverrideParam(query)) {
          if (server.overrideHeaders === 'refuse')
            refusal = ambiguous(
              'query parameter _method is refused: the backend could run another method than the one the policy judged (server.overrideHeaders)',
              400,
              'request.override-header',
            )
          else query = withoutMethodOverride(query)
        }
        const hit = routes.best(raw.method, canon.key)
        if (hit) {
          route = hit.value.fixed ?? {
            template: hit.template,
            params: hit.params,
            upstream: hit.value.config.upstream,
          }
          routeConfig = hit.value.config
        }
        const refused = canon.flags & ~(hit?.value.allowed ?? 0)
        if (refused) refusal = ambiguous(`ambiguous path: ${describeAmbiguity(refused)}`, 400)
      }
    }

    // A connection is one client's only when no proxy stands in between (a trusted proxy's
    // connections carry many clients: each of them gets its cookie).
    const device = devices?.read(
      raw.headers,
      receivedAt,
      raw.connection,
      client.source === 'socket',
    )
    const ctx = new Context(
      raw,
      routeConfig?.maxBodySize ?? server.maxBodySize,
      id,
      receivedAt,
      path,
      pathKey,
      query,
      route,
      // Every facet named up front, in one order: layers fill them in whatever order a
      // request needs, and an object that grew its fields in different orders would have a
      // different shape per request, making each read of them polymorphic (V8 deoptimised the
      // behaviour layer on "wrong map" under mixed traffic).
      {
        ip: client.ip,
        ipPrefix: client.ipPrefix,
        ipSource: client.source,
        ipHop: client.hop,
        account: undefined,
        accountAsSent: undefined,
        accountVerified: undefined,
        session: undefined,
        apiKey: undefined,
        fingerprint: undefined,
        device: device?.id,
        deviceTrusted: device?.trusted ?? false,
      },
      client.ignoredForwarding,
      device?.setCookie,
      device?.issued,
    )
    return refusal ? { ctx, refusal } : routeConfig ? { ctx, routeConfig } : { ctx }
  }
}

/** The query without its `_method` parameters (`server.overrideHeaders: strip`). */
function withoutMethodOverride(query: string): string {
  return query
    .split('&')
    .filter((part) => !hasMethodOverrideParam(part))
    .join('&')
}

/** The body state of a context made by {@link contextFactory}. */
export function bodyState(ctx: RequestContext): BodyState | undefined {
  return ctx instanceof Context ? ctx : undefined
}

/**
 * The request context. A class, not a literal with closures: one allocation per request, its
 * methods shared, and `locals` made only when a layer uses it.
 */
class Context implements RequestContext, BodyState {
  readonly id: string
  readonly method: string
  readonly path: string
  readonly pathKey: string
  readonly query: string
  readonly route: RouteInfo
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  readonly identity: Identity
  readonly connection: object | undefined
  readonly receivedAt: number
  readonly forwardingIgnored: boolean
  readonly deviceCookie: string | undefined
  readonly issuedDevice: string | undefined
  upstreamHeaders: Record<string, string> | undefined = undefined
  documented: RequestContext['documented'] = undefined
  read: Promise<RequestBody | undefined> | undefined = undefined
  value: RequestBody | undefined = undefined
  tooLarge = false
  unreadable = false
  #locals: Map<string, unknown> | undefined = undefined
  readonly #raw: RawRequest
  readonly #cap: number

  constructor(
    raw: RawRequest,
    cap: number,
    id: string,
    receivedAt: number,
    path: string,
    pathKey: string,
    query: string,
    route: RouteInfo,
    identity: Identity,
    forwardingIgnored: boolean,
    deviceCookie: string | undefined,
    issuedDevice: string | undefined,
  ) {
    this.#raw = raw
    this.#cap = cap
    this.id = id
    this.method = raw.method
    this.path = path
    this.pathKey = pathKey
    this.query = query
    this.route = route
    this.headers = raw.headers
    this.rawHeaders = raw.rawHeaders
    this.identity = identity
    this.connection = raw.connection
    this.receivedAt = receivedAt
    this.forwardingIgnored = forwardingIgnored
    this.deviceCookie = deviceCookie
    this.issuedDevice = issuedDevice
  }

  get locals(): Map<string, unknown> {
    return (this.#locals ??= new Map())
  }

  local(key: string): unknown {
    return this.#locals?.get(key)
  }

  body(): MaybePromise<RequestBody | undefined> {
    if (this.read) return this.read
    const raw = this.#raw
    if (!hasBody(raw.headers)) return undefined
    this.read = raw.readBody(this.#cap).then(
      (bytes) => this.#got(bytes),
      (err: Error & { code?: unknown }) => {
        // A stream error (ECONNRESET, HPE_INVALID_CHUNK_SIZE…) is the client's doing: a 400.
        // Anything else (an embedding that consumed the body first) stays an engine error.
        if (typeof err?.code !== 'string') throw err
        this.unreadable = true
        return undefined
      },
    )
    return this.read
  }

  #got(bytes: Buffer | null): RequestBody | undefined {
    if (bytes === null) {
      this.tooLarge = true
      return undefined
    }
    const headers = this.#raw.headers
    const rawType = headers['content-type']
    const encoding = headers['content-encoding']?.trim().toLowerCase()
    this.value = {
      bytes,
      contentType: mediaType(rawType),
      ...(rawType ? { rawContentType: rawType } : {}),
      ...(encoding && encoding !== 'identity' ? { encoding } : {}),
    }
    return this.value
  }
}

/** True when the request carries a body (RFC 9112 §6.3). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true
  const cl = headers['content-length']
  return cl !== undefined && cl !== '0'
}

function mediaType(value: string | undefined): string {
  if (!value) return ''
  const semi = value.indexOf(';')
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase()
}

function ambiguous(reason: string, status: number, rule = 'request.ambiguous'): Verdict {
  return { action: 'block', rule, reason, monitor: false, status }
}

/**
 * Headers of which a second copy makes a request ambiguous: one parser keeps the first, another
 * the last. (Two Authorization headers are the auth layer's to refuse, with a WWW-Authenticate.)
 */
const SINGLE = { 'content-type': 1, 'content-encoding': 2, origin: 4 } as const
const OVERRIDES: ReadonlySet<string> = new Set(OVERRIDE_HEADERS)
/** Lengths of the names above: only a raw header name of one of these is lower-cased. */
const LOOKED_FOR = new Uint8Array(64)
for (const n of [...Object.keys(SINGLE), ...OVERRIDES]) LOOKED_FOR[n.length] = 1
/**
 * Headers a client may not have dropped on the way by naming them in `Connection`: the policy
 * reads them (plus the identity headers the config names).
 */
const PROTECTED = [
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'authorization',
  'cookie',
  'origin',
  'user-agent',
]
/**
 * Headers the policy reads (identity, framing, the headers rules key on) or sets (claims it
 * forwards): a client may not have them dropped on the way (`Connection`), nor sneak a copy past
 * the policy under another spelling (`X_Api_Key`, which CGI/WSGI backends read as `X-Api-Key`).
 */
export function policyHeaders(config: Config): Set<string> {
  const id = config.identity
  return new Set<string>([
    ...PROTECTED,
    config.server.requestIdHeader,
    ...(id?.apiKey ? [id.apiKey.header] : []),
    ...(id?.account ?? []).flatMap((src) => ('header' in src ? [src.header] : [])),
    ...(config.limits?.rules ?? []).flatMap((r) =>
      [...r.key, r.distinct].flatMap((f) =>
        f?.startsWith('header:') ? [f.slice('header:'.length).toLowerCase()] : [],
      ),
    ),
    ...(config.auth?.rules ?? []).flatMap((r) =>
      Object.values(r.forwardClaims).map((h) => h.toLowerCase()),
    ),
  ])
}

/** RFC 9112 §3.2 / RFC 3986: IP-literal or reg-name, optional port. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]*)(?::[0-9]{0,5})?$/

/**
 * Compiles the check that refuses requests whose framing or headers two parsers could read
 * differently: two Hosts or a malformed one, Content-Length with Transfer-Encoding, chunked on
 * HTTP/1.0, a second Content-Type / Content-Encoding / Origin, a header that
 * re-routes the request inside some backends (under `overrideHeaders: refuse`), a `Connection`
 * that asks for a header the request carries to be dropped on the way (the policy judged it).
 */
function framingCheck(config: Config) {
  const server = config.server
  const maxHeaders = server.maxHeaders
  const maxUrl = server.maxUrlLength
  const kept = policyHeaders(config)
  const refuseOverrides = server.overrideHeaders === 'refuse'
  let goodHost = ''
  return function checkFraming(raw: RawRequest): Verdict | undefined {
    const raws = raw.rawHeaders
    if (raws.length > maxHeaders * 2)
      return ambiguous(
        `${raws.length / 2} headers > ${maxHeaders}`,
        431,
        'request.too-many-headers',
      )
    if (raw.url.length > maxUrl)
      return ambiguous(
        `request target of ${raw.url.length} characters > server.maxUrlLength (${maxUrl})`,
        414,
        'request.uri-too-long',
      )
    let hosts = 0
    let seen = 0
    for (let i = 0; i < raws.length; i += 2) {
      const name = raws[i]!
      if (name.length === 4) {
        if (name.toLowerCase() === 'host') hosts++
        continue
      }
      // Only names of the lengths looked for are lower-cased (most headers are not).
      if (LOOKED_FOR[name.length] !== 1) continue
      const lower = name.toLowerCase()
      const bit = SINGLE[lower as keyof typeof SINGLE]
      if (bit !== undefined) {
        if (seen & bit) return ambiguous(`more than one ${name} header`, 400)
        seen |= bit
      } else if (refuseOverrides && OVERRIDES.has(lower))
        return ambiguous(
          `header ${name} is refused: the backend could serve another path or method than the one the policy judged (server.overrideHeaders)`,
          400,
          'request.override-header',
        )
    }
    if (hosts > 1) return ambiguous('more than one Host header', 400)
    const headers = raw.headers
    const host = headers.host
    if (host !== undefined && host !== goodHost) {
      if (!HOST.test(host)) return ambiguous(`malformed Host header ${JSON.stringify(host)}`, 400)
      goodHost = host
    }
    const te = headers['transfer-encoding']
    if (te !== undefined) {
      // RFC 9112 §6.1: a sender must not send Content-Length with Transfer-Encoding; a proxy that
      // forwards both lets the backend pick the other one (request smuggling).
      if (headers['content-length'] !== undefined)
        return ambiguous('Content-Length together with Transfer-Encoding', 400)
      if (te.trim().toLowerCase() !== 'chunked')
        return ambiguous(`Transfer-Encoding ${JSON.stringify(te)} is not plain chunked`, 400)
      if (raw.httpVersion === '1.0')
        return ambiguous('Transfer-Encoding on an HTTP/1.0 request (RFC 9112 §6.1)', 400)
    }
    const connection = headers.connection
    if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close')
      return connectionRefusal(connection, headers, kept)
    return undefined
  }
}

/**
 * RFC 9110 §7.6.1 makes a proxy drop the headers `Connection` names. Naming one the policy reads
 * (`Connection: cookie`, `Connection: host`) would have the backend see another request than
 * the one the policy judged, so that is refused instead; other names are dropped as the RFC says.
 */
function connectionRefusal(
  value: string,
  headers: IncomingHttpHeaders,
  kept: ReadonlySet<string>,
): Verdict | undefined {
  for (const token of value.toLowerCase().split(',')) {
    const name = token.trim()
    if (!kept.has(name) || headers[name] === undefined) continue
    return ambiguous(
      `Connection names the ${name} header the request carries: the backend would not see it`,
      400,
    )
  }
  return undefined
}

/**
 * The origin-form path of the target, or undefined when the target names another host.
 * RFC 9112 §3.2.2: a server must accept absolute-form; we accept it only for the Host it names.
 */
function originForm(raw: RawRequest): string | undefined {
  const url = raw.url
  if (url.charCodeAt(0) === 47 /* / */) return url
  if (!/^https?:\/\//i.test(url)) return undefined
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  const host = raw.headers.host?.toLowerCase()
  if (!host || parsed.host.toLowerCase() !== host) return undefined
  // The path starts at the first `/` after the authority, or is empty (`/`) when a `?` comes first.
  const from = url.indexOf('//') + 2
  const slash = url.indexOf('/', from)
  const query = url.indexOf('?', from)
  if (query >= 0 && (slash < 0 || query < slash)) return '/' + url.slice(query)
  return slash < 0 ? '/' : url.slice(slash)
}
