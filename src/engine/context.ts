/**
 * Builds the one canonical view of a request (RequestContext) from what a listener received,
 * or refuses the request when two parsers could read it differently.
 *
 * Refusals here are request-safety checks: they are always enforced, even in monitor mode,
 * because forwarding an ambiguous request is exactly what lets a backend and a gateway disagree.
 * @see ../../README.md#the-canonical-request
 */
import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Config, RouteConfig } from '../config/schema.js'
import { clientIpResolver } from '../request/client.js'
import { Ambiguity, canonicalPath, describeAmbiguity } from '../request/path.js'
import { compileRoutes } from '../request/routes.js'
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
   * Reads the whole body up to `cap` bytes. Resolves `null` when the body is larger (the
   * listener stops reading), an empty buffer when there is none.
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

  return function prepare(raw: RawRequest): PreparedRequest {
    const receivedAt = clock.now()
    const incomingId = raw.headers[idHeader]
    const id =
      server.trustRequestId && typeof incomingId === 'string' && REQUEST_ID.test(incomingId)
        ? incomingId
        : randomUUID()
    const client = resolveIp(raw.remoteAddress, raw.headers)
    let refusal = checkFraming(raw, server.maxHeaders)

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

    const ctx = new Context(
      raw,
      routeConfig?.maxBodySize ?? server.maxBodySize,
      id,
      receivedAt,
      path,
      pathKey,
      query,
      route,
      {
        ip: client.ip,
        ipPrefix: client.ipPrefix,
        ipSource: client.source,
        ipHop: client.hop,
      },
      client.ignoredForwarding,
    )
    return refusal ? { ctx, refusal } : routeConfig ? { ctx, routeConfig } : { ctx }
  }
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
  readonly receivedAt: number
  readonly forwardingIgnored: boolean
  upstreamHeaders: Record<string, string> | undefined = undefined
  documented: RequestContext['documented'] = undefined
  read: Promise<RequestBody | undefined> | undefined = undefined
  value: RequestBody | undefined = undefined
  tooLarge = false
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
    this.receivedAt = receivedAt
    this.forwardingIgnored = forwardingIgnored
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
    this.read = raw.readBody(this.#cap).then((bytes) => {
      if (bytes === null) {
        this.tooLarge = true
        return undefined
      }
      const rawType = raw.headers['content-type']
      this.value = {
        bytes,
        contentType: mediaType(rawType),
        ...(rawType ? { rawContentType: rawType } : {}),
      }
      return this.value
    })
    return this.read
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

/** Refuses requests whose framing two parsers could read differently. */
function checkFraming(raw: RawRequest, maxHeaders: number): Verdict | undefined {
  const raws = raw.rawHeaders
  if (raws.length > maxHeaders * 2)
    return ambiguous(`${raws.length / 2} headers > ${maxHeaders}`, 431, 'request.too-many-headers')
  let hosts = 0
  for (let i = 0; i < raws.length; i += 2) {
    const name = raws[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++
  }
  if (hosts > 1) return ambiguous('more than one Host header', 400)
  const te = raw.headers['transfer-encoding']
  if (te !== undefined) {
    // RFC 9112 §6.1: a sender must not send Content-Length with Transfer-Encoding; a proxy that
    // forwards both lets the backend pick the other one (request smuggling).
    if (raw.headers['content-length'] !== undefined)
      return ambiguous('Content-Length together with Transfer-Encoding', 400)
    if (te.trim().toLowerCase() !== 'chunked')
      return ambiguous(`Transfer-Encoding ${JSON.stringify(te)} is not plain chunked`, 400)
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
  const slash = url.indexOf('/', url.indexOf('//') + 2)
  return slash < 0 ? '/' : url.slice(slash)
}
