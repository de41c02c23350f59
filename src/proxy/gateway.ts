/**
 * The reverse proxy: a node:http listener that prepares each request, asks the engine, and
 * carries out the decision (forward through a Pool, answer, or delay). Owns the sockets, the
 * timeouts and graceful shutdown; decides nothing itself.
 * @see ../../README.md#running-the-gateway
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Pool } from 'undici'
import type { Config } from '../config/schema.js'
import { bodyState, hasBody, policyHeaders, type RawRequest } from '../engine/context.js'
import { refuse } from '../engine/decision.js'
import { errorBody, NO_HEADERS, toEffect } from '../engine/effect.js'
import { createEngine, type Engine } from '../engine/engine.js'
import type { Clock, Decision, Effect, HeaderMap, RequestContext } from '../engine/types.js'
import { systemClock } from '../engine/types.js'
import {
  CLIENT_IP_HEADERS,
  FORWARDING_CLAIM_HEADERS,
  normalizeIp,
  OVERRIDE_HEADERS,
} from '../request/client.js'
import {
  configWarningNotices,
  decisionChannel,
  layerErrorNotice,
  notice,
} from '../telemetry/channels.js'
import { createPool, httpDate, upstreamHeaders, UpstreamExchange } from './forward.js'
import { readBody } from './read-body.js'
import { createTarpit, type Tarpit, type TarpitOptions, type TarpitStats } from './tarpit.js'
import { HTTP_METHODS } from '../layers/common.js'
import { TarpitSpec } from '../layers/deception/spec.js'
import { corsHeadersOf } from '../layers/cors/answer-headers.js'
import { createStore } from '../store/create.js'
import { listenError } from '../errors.js'
import type { Store } from '../store/store.js'

export interface GatewayOptions {
  readonly clock?: Clock
  /** Overrides `server.port` / `server.host` (the CLI's --port, tests' port 0). */
  readonly port?: number
  readonly host?: string
  /** Directory of the config file: relative file names in it resolve here. */
  readonly configDir?: string
  /** The config file's name, for errors found when compiling it. */
  readonly configFile?: string
}

export interface Gateway {
  readonly server: Server
  readonly url: string
  readonly port: number
  /** The engine in force now. */
  readonly engine: Engine
  /** Delayed answers held now, and the caps (`deception.tarpit`). */
  readonly tarpit: TarpitStats
  /** Requests received and not yet answered (or abandoned by their client). */
  readonly inFlight: number
  /**
   * Swaps in a new config atomically: requests already in flight finish under the old one.
   * Throws (and keeps the old config) when the new one cannot be compiled.
   */
  reload(config: Config): Promise<void>
  /** Stops accepting, drains in-flight requests (up to `server.shutdownTimeout`), then closes. */
  close(): Promise<void>
}

/** Everything a config compiles into; swapped as one piece on reload. */
interface Runtime {
  readonly config: Config
  readonly engine: Engine
  /** Kept across reloads while `store:` is unchanged, so counts survive a reload. */
  readonly store: Store
  readonly pools: ReadonlyMap<string, Pool>
  /** Headers never passed upstream from an untrusted client. */
  readonly untrustedDrop: ReadonlySet<string>
  readonly trustedDrop: ReadonlySet<string>
  /** Headers the policy reads or sets: never forwarded under an underscore spelling. */
  readonly guarded: ReadonlySet<string>
  /** The device cookie's name: Bulwark's own, taken out of the `Cookie` header sent upstream. */
  readonly ownCookie: string | undefined
  /** `server.forwardedHeaders`: which X-Forwarded-* the gateway sets. */
  readonly forwardFor: boolean
  readonly forwardProto: boolean
  readonly forwardHost: boolean
}

function compile(config: Config, clock: Clock, opts: GatewayOptions, previous?: Runtime): Runtime {
  const { configDir, configFile } = opts
  const sameStore =
    previous && JSON.stringify(previous.config.store) === JSON.stringify(config.store)
  const store = sameStore ? previous.store : createStore(config.store)
  let engine: Engine
  try {
    engine = createEngine(config, {
      clock,
      store,
      ...(configDir !== undefined ? { configDir } : {}),
      ...(configFile !== undefined ? { configFile } : {}),
      onError: layerErrorNotice,
    })
  } catch (err) {
    // A config refused while compiling (a reload keeps the old one): its new store goes too.
    if (!sameStore) void store.close()
    throw err
  }
  configWarningNotices(engine.warnings)
  const pools = new Map<string, Pool>()
  for (const [name, u] of Object.entries(config.upstreams)) {
    const old = previous?.config.upstreams[name]
    // Keep a pool (and its warm connections) when its upstream did not change.
    const reuse =
      old && JSON.stringify(old) === JSON.stringify(u) ? previous!.pools.get(name) : undefined
    pools.set(name, reuse ?? createPool(u))
  }
  const idHeader = config.server.requestIdHeader
  return {
    config,
    engine,
    store,
    pools,
    // (Under `overrideHeaders: refuse` a request with one never gets this far.)
    untrustedDrop: new Set<string>([
      ...CLIENT_IP_HEADERS,
      ...FORWARDING_CLAIM_HEADERS,
      ...OVERRIDE_HEADERS,
      idHeader,
    ]),
    trustedDrop: new Set<string>(['x-forwarded-for', ...OVERRIDE_HEADERS, idHeader]),
    guarded: policyHeaders(config),
    ownCookie: config.identity.device?.cookie,
    forwardFor: config.server.forwardedHeaders.includes('x-forwarded-for'),
    forwardProto: config.server.forwardedHeaders.includes('x-forwarded-proto'),
    forwardHost: config.server.forwardedHeaders.includes('x-forwarded-host'),
  }
}

/** What every exchange of one gateway shares; `runtime` is swapped on reload. */
interface Core {
  runtime: Runtime
  readonly clock: Clock
  readonly tarpit: Tarpit
  inFlight: number
  draining: boolean
  drained: (() => void) | undefined
  warnedForwarding: number
  warnedTarpit: number
  /** Per upstream: when its last failure was logged, and failures since. */
  readonly upstreamErrors: Map<string, { at: number; since: number }>
}

/**
 * Starts the gateway and resolves once it listens.
 * @example
 * const gw = await startGateway(config, { port: 0 })
 * console.log(gw.url)
 */
export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const clock = opts.clock ?? systemClock
  const s = config.server
  const core: Core = {
    runtime: compile(config, clock, opts),
    clock,
    // One tarpit for the gateway's life: answers held under an old config count against the caps.
    tarpit: createTarpit(tarpitOptions(config)),
    inFlight: 0,
    draining: false,
    drained: undefined,
    warnedForwarding: 0,
    warnedTarpit: 0,
    upstreamErrors: new Map(),
  }
  const tarpit = core.tarpit

  const server = createServer(
    {
      maxHeaderSize: s.maxHeaderSize,
      headersTimeout: s.headersTimeout,
      requestTimeout: 0,
      keepAliveTimeout: s.keepAliveTimeout,
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(s.headersTimeout / 4))),
      requireHostHeader: true,
      joinDuplicateHeaders: false,
    },
    (req, res) => new Exchange(core, req, res).start(),
  )
  server.on('clientError', onClientError)
  // A reverse proxy is no tunnel: CONNECT is refused, and said so (node would close in silence).
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    notice({
      kind: 'client-error',
      level: 'warn',
      msg: 'CONNECT refused: this gateway is a reverse proxy, not a tunnel',
      status: 405,
      ip: socket.remoteAddress,
      target: req.url,
    })
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nallow: ${HTTP_METHODS.join(', ')}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    )
  })

  function onClientError(err: Error & { code?: string }, socket: Socket) {
    // A client that drops its connection (often an idle keep-alive one) sent nothing malformed:
    // no answer is possible and nothing is worth a warning.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      socket.destroy()
      return
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    notice({
      kind: 'client-error',
      level: 'warn',
      msg: `malformed or incomplete request: ${err.code ?? err.message}`,
      status,
      ip: socket.remoteAddress,
    })
    // Also when the request was already under way (a malformed chunk in its body): node keeps
    // the in-flight response on the socket, and as long as none of it was written, the client
    // can still be told why. Its later writes go to a destroyed socket and are dropped.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage
    if (socket.writable && !inFlight?.headersSent) {
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      )
    }
    socket.destroy()
  }

  const listenPort = opts.port ?? s.port
  const listenHost = opts.host ?? s.host
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      // Nothing may keep the process alive (upstream pools, a Redis connection).
      closeRuntime(core.runtime).catch(() => {})
      reject(listenError('gateway', listenHost, listenPort, err, '--port or server.port'))
    }
    server.once('error', failed)
    server.listen(listenPort, listenHost, () => {
      server.off('error', failed)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address

  return {
    server,
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    get engine() {
      return core.runtime.engine
    },
    tarpit,
    get inFlight() {
      return core.inFlight
    },
    async reload(next: Config) {
      const old = core.runtime
      const rt = compile(next, clock, opts, old)
      core.runtime = rt
      tarpit.configure(tarpitOptions(next))
      const reused = new Set(rt.pools.values())
      // Old pools and engine finish their in-flight work before closing.
      setTimeout(() => {
        for (const p of old.pools.values()) if (!reused.has(p)) void p.close()
        void old.engine.close()
        if (old.store !== rt.store) void old.store.close()
      }, old.config.server.shutdownTimeout).unref()
      if (
        next.server.port !== old.config.server.port ||
        next.server.host !== old.config.server.host
      )
        notice({
          kind: 'reload',
          level: 'warn',
          msg: 'server.host/server.port changed: they take effect on restart',
        })
    },
    async close() {
      core.draining = true
      // Held answers go out now (with `connection: close`) instead of waiting out their delays.
      tarpit.flush()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const rt = core.runtime
      if (core.inFlight > 0) {
        await new Promise<void>((resolve) => {
          core.drained = resolve
          setTimeout(resolve, rt.config.server.shutdownTimeout).unref()
        })
      }
      server.closeAllConnections()
      await closed
      await closeRuntime(rt)
    },
  }
}

/** Closes what a runtime holds open: upstream pools, the engine, the store. */
async function closeRuntime(rt: Runtime): Promise<void> {
  await Promise.all([...rt.pools.values()].map((p) => p.close()))
  await rt.engine.close()
  await rt.store.close()
}

/** The tarpit's caps: `deception.tarpit`, or its defaults when there is no deception block. */
function tarpitOptions(config: Config): TarpitOptions {
  return config.deception?.tarpit ?? DEFAULT_TARPIT
}
const DEFAULT_TARPIT: TarpitOptions = TarpitSpec.parse({})

/**
 * Appends the forwarding headers `server.forwardedHeaders` lists — X-Forwarded-For (the chain
 * plus this hop), -Proto, -Host — and the request id.
 */
function addForwardingHeaders(
  out: string[],
  req: IncomingMessage,
  ctx: RequestContext,
  idHeader: string,
  r: Runtime,
): void {
  // A trusted proxy saw the client's scheme and host, and its headers pass through: adding this
  // hop's too would send two values (`https, http`) for the backend to choose from.
  const fromProxy = ctx.identity.ipSource !== 'socket'
  const headers = req.headers
  if (r.forwardFor) {
    // On a dual-stack listener an IPv4 client is ::ffff:a.b.c.d; send it as ctx.identity has
    // it (which is the socket's address when no trusted proxy spoke).
    const sock = fromProxy ? normalizeIp(req.socket.remoteAddress ?? '') : ctx.identity.ip
    const prior = fromProxy ? headers['x-forwarded-for'] : undefined
    out.push(
      'x-forwarded-for',
      prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${sock}` : sock,
    )
  }
  if (r.forwardProto && (!fromProxy || headers['x-forwarded-proto'] === undefined))
    out.push('x-forwarded-proto', 'http')
  if (r.forwardHost && (!fromProxy || headers['x-forwarded-host'] === undefined))
    out.push('x-forwarded-host', headers.host ?? '')
  out.push(idHeader, ctx.id)
}

const ENGINE_ERROR = (err: unknown): Decision =>
  refuse({
    action: 'block',
    rule: 'engine.error',
    reason: String(err),
    monitor: false,
    status: 500,
  })
const BODY_TIMEOUT: Decision = refuse({
  action: 'block',
  rule: 'request.body-timeout',
  reason: 'body too slow',
  monitor: false,
  status: 408,
})

/**
 * One request from arrival to its last byte: the raw request the engine prepares, the decision
 * carried out, and (as an {@link UpstreamExchange}) the trip upstream. One object per request
 * with its steps as methods, so the hot path allocates no closures.
 */
class Exchange extends UpstreamExchange implements RawRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  readonly remoteAddress: string | undefined
  readonly connection: object
  readonly httpVersion: string
  protected readonly requestIdHeader: string
  protected requestId = ''
  readonly #core: Core
  readonly #rt: Runtime
  readonly #req: IncomingMessage
  #ctx!: RequestContext
  #decision: Decision | undefined = undefined
  #effect: Effect | undefined = undefined
  #withBody = false
  /** Refused before any layer ran (framing): the connection is not reused. */
  #refused = false
  #settled = false
  #bodyTimer: NodeJS.Timeout | undefined = undefined
  /** A delay's timer, or the tarpit's release: cancelled when the client leaves. */
  #delay: NodeJS.Timeout | undefined = undefined
  #release: (() => void) | undefined = undefined

  constructor(core: Core, req: IncomingMessage, res: ServerResponse) {
    super(res)
    this.#core = core
    this.#rt = core.runtime
    this.#req = req
    this.method = req.method ?? 'GET'
    this.url = req.url ?? '/'
    this.headers = req.headers
    this.rawHeaders = req.rawHeaders
    this.remoteAddress = req.socket.remoteAddress
    this.connection = req.socket
    this.httpVersion = req.httpVersion
    this.requestIdHeader = this.#rt.config.server.requestIdHeader
  }

  readBody(cap: number): Promise<Buffer | null> {
    return readBody(this.#req, cap)
  }

  start(): void {
    const core = this.#core
    const r = this.#rt
    core.inFlight++
    // In flight until the answer is handed to the OS (or the client left): close() must not
    // destroy a socket whose last bytes are still queued.
    this.res.on('close', this.#onClose)
    const { ctx, refusal } = r.engine.prepare(this)
    this.#ctx = ctx
    this.requestId = ctx.id
    if (hasBody(this.headers)) {
      this.#withBody = true
      // The whole body must arrive within bodyTimeout: a body trickled a byte at a time is cut
      // off when its total time runs out, not only when a single read stalls.
      this.#bodyTimer = setTimeout(onBodyTimeout, r.config.server.bodyTimeout, this)
      this.#req.once('end', () => clearTimeout(this.#bodyTimer))
    }
    if (ctx.forwardingIgnored) warnForwarding(core, r, ctx)
    if (refusal) {
      this.#refused = true
      return this.act(refuse(refusal))
    }
    const d = r.engine.inspect(ctx)
    if (d instanceof Promise)
      d.then(
        (decision) => this.act(decision),
        (err) => this.act(ENGINE_ERROR(err)),
      )
    else this.act(d)
  }

  readonly #onClose = () => {
    const core = this.#core
    if (--core.inFlight === 0 && core.drained) core.drained()
    if (this.#delay !== undefined || this.#release !== undefined) {
      // Gone while its answer was held back: nothing is sent, but the request is still told.
      clearTimeout(this.#delay)
      this.#release?.()
      this.#delay = this.#release = undefined
      this.finish(0, true)
    } else this.clientClosed()
  }

  /** Tells the layers and the event subscribers how the request ended; once. */
  finish(status: number, byGateway: boolean, unanswered = false): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#bodyTimer)
    const ctx = this.#ctx
    const decision = this.#decision ?? BODY_TIMEOUT
    const outcome = { status, ms: this.#core.clock.now() - ctx.receivedAt, byGateway, unanswered }
    this.#rt.engine.observe(ctx, outcome, decision)
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ ctx, decision, outcome })
  }

  protected upstreamDone(status: number, byGateway: boolean, unanswered = false): void {
    this.finish(status, byGateway, unanswered)
  }

  protected override upstreamFailed(err: Error & { code?: string }, status: number): void {
    warnUpstream(this.#core, this.#ctx, err, status)
  }

  protected answerHeaders(): HeaderMap {
    // Read when the upstream answers, so a request in flight when close() began is told so.
    const headers = this.#effect!.headers
    return this.#core.draining ? { ...headers, connection: 'close' } : headers
  }

  protected answerCookie(): string | undefined {
    return this.#ctx.deviceCookie
  }

  act(decision: Decision): void {
    if (this.#settled) return
    this.#decision = decision
    const effect = toEffect(decision, this.#ctx.id, corsHeadersOf(this.#ctx))
    this.#effect = effect
    if (effect.delayMs > 0 && effect.kind === 'respond') {
      // The gateway's own delayed answer (a fake, chaos): held by the tarpit under its caps.
      const release = this.#core.tarpit.hold(effect.delayMs, Buffer.byteLength(effect.body), () =>
        this.carryOut(),
      )
      if (release) this.#release = release
      else this.overflow()
    } else if (effect.delayMs > 0) this.#delay = setTimeout(carryOutLater, effect.delayMs, this)
    else this.carryOut()
  }

  /** The tarpit is full: the cheapest answer, at once. */
  overflow(): void {
    const core = this.#core
    warnTarpit(core)
    if (core.tarpit.options.overflow === 'close') {
      this.#req.socket.destroy()
      return this.finish(0, true)
    }
    this.respond(429, NO_HEADERS, errorBody(429, this.requestId), true)
  }

  carryOut(): void {
    this.#delay = undefined
    this.#release = undefined
    if (this.#settled || this.res.destroyed) return this.finish(0, true)
    const effect = this.#effect!
    if (effect.kind === 'respond')
      return this.respond(effect.status, effect.headers, effect.body, this.#core.draining)
    const ctx = this.#ctx
    const r = this.#rt
    const upstream = ctx.route.upstream
    const pool = upstream === undefined ? undefined : r.pools.get(upstream)
    if (!pool) return this.respond(404, NO_HEADERS, errorBody(404, ctx.id), this.#core.draining)
    const buffered = bodyState(ctx)?.value?.bytes
    const headers = upstreamHeaders(
      this.rawHeaders,
      ctx.identity.ipSource === 'socket' ? r.untrustedDrop : r.trustedDrop,
      buffered?.length,
      ctx.upstreamHeaders,
      r.guarded,
      r.ownCookie,
    )
    addForwardingHeaders(headers, this.#req, ctx, this.requestIdHeader, r)
    this.dispatch(pool, {
      method: ctx.method,
      path: ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path,
      headers,
      body: buffered ?? (this.#withBody ? this.#req : null),
    })
  }

  /**
   * The gateway's own answer. A body still arriving is discarded and the connection closed
   * after the answer: the whole-body timeout ends with the request, and a client must not keep
   * a connection open by trickling a body nobody reads.
   */
  respond(status: number, headers: HeaderMap, body: string, close: boolean): void {
    const res = this.res
    const unread = this.#withBody && !this.#req.complete
    if (this.#refused || unread) close = true
    if (!res.headersSent) {
      // Written like a forwarded answer (lower-case `date` before the request id), so a bot
      // cannot tell the gateway's answers (refusals, fakes) from the backend's by their head.
      res.sendDate = false
      res.writeHead(status, {
        'content-type': 'application/json',
        ...headers,
        'content-length': Buffer.byteLength(body),
        date: httpDate(this.#core.clock.now()),
        [this.requestIdHeader]: this.requestId,
        ...(close ? { connection: 'close' } : {}),
        ...(this.#ctx.deviceCookie !== undefined ? { 'set-cookie': this.#ctx.deviceCookie } : {}),
      })
      res.end(body)
    }
    if (unread) this.#req.resume()
    this.finish(status, true)
  }

  bodyTimedOut(): void {
    const ctx = this.#ctx
    notice({
      kind: 'body-timeout',
      level: 'warn',
      msg: 'request body did not arrive in time',
      requestId: ctx.id,
      ip: ctx.identity.ip,
    })
    this.#decision = BODY_TIMEOUT
    this.respond(408, NO_HEADERS, errorBody(408, ctx.id), true)
    this.#req.socket.destroy()
  }
}

function onBodyTimeout(x: Exchange): void {
  x.bodyTimedOut()
}

function carryOutLater(x: Exchange): void {
  x.carryOut()
}

function warnTarpit(core: Core): void {
  const now = core.clock.now()
  if (now - core.warnedTarpit < 60_000) return
  core.warnedTarpit = now
  const t = core.tarpit
  notice({
    kind: 'tarpit-full',
    level: 'warn',
    msg: `tarpit full (${t.active} answers, ${t.bytes} bytes held): delayed answers overflow with ${t.options.overflow === 'close' ? 'a closed connection' : 'a plain 429'}`,
    overflowed: t.overflowed,
  })
}

/**
 * An upstream failure is an event: the first at once, then at most one per upstream every
 * 10 s carrying how many failed since (an outage must not flood the log).
 */
function warnUpstream(
  core: Core,
  ctx: RequestContext,
  err: Error & { code?: string },
  status: number,
): void {
  const upstream = ctx.route.upstream ?? '?'
  const now = core.clock.now()
  let seen = core.upstreamErrors.get(upstream)
  if (seen === undefined) core.upstreamErrors.set(upstream, (seen = { at: -Infinity, since: 0 }))
  seen.since++
  if (now - seen.at < 10_000) return
  notice({
    kind: 'upstream-error',
    level: 'error',
    msg:
      status === 0
        ? `upstream ${upstream} failed mid-answer (${err.code ?? err.message}): the client's connection was cut`
        : `upstream ${upstream} failed (${err.code ?? err.message}): answered ${status}`,
    upstream,
    code: err.code,
    status,
    failures: seen.since,
    requestId: ctx.id,
    path: ctx.path,
  })
  seen.at = now
  seen.since = 0
}

function warnForwarding(core: Core, r: Runtime, ctx: RequestContext): void {
  const now = core.clock.now()
  if (now - core.warnedForwarding < 60_000) return
  core.warnedForwarding = now
  notice({
    kind: 'untrusted-forwarding',
    level: 'warn',
    msg: r.config.server.trustedProxies.length
      ? 'forwarding headers from a client that is not a trusted proxy were ignored'
      : 'forwarding headers arrived but server.trustedProxies is empty: they were ignored (set trustedProxies if Bulwark runs behind a proxy)',
    ip: ctx.identity.ip,
  })
}
