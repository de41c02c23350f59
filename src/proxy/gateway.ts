/**
 * The reverse proxy: a node:http listener that prepares each request, asks the engine, and
 * carries out the decision (forward through a Pool, answer, or delay). Owns the sockets, the
 * timeouts and graceful shutdown; decides nothing itself.
 * @see ../../README.md#running-the-gateway
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Pool } from 'undici'
import type { Config } from '../config/schema.js'
import { bodyState, hasBody } from '../engine/context.js'
import { refuse } from '../engine/decision.js'
import { errorBody, toEffect } from '../engine/effect.js'
import { createEngine, type Engine } from '../engine/engine.js'
import type { Clock, Decision, Effect, RequestContext } from '../engine/types.js'
import { systemClock } from '../engine/types.js'
import { CLIENT_IP_HEADERS, normalizeIp } from '../request/client.js'
import { decisionChannel, notice } from '../telemetry/channels.js'
import { createPool, forward, upstreamHeaders } from './forward.js'
import { readBody } from './read-body.js'
import { createTarpit, type TarpitOptions, type TarpitStats } from './tarpit.js'
import { TarpitSpec } from '../layers/deception/spec.js'
import { createStore } from '../store/create.js'
import type { Store } from '../store/store.js'

export interface GatewayOptions {
  readonly clock?: Clock
  /** Overrides `server.port` / `server.host` (the CLI's --port, tests' port 0). */
  readonly port?: number
  readonly host?: string
  /** Directory of the config file: relative file names in it resolve here. */
  readonly configDir?: string
}

export interface Gateway {
  readonly server: Server
  readonly url: string
  readonly port: number
  /** The engine in force now. */
  readonly engine: Engine
  /** Delayed answers held now, and the caps (`deception.tarpit`). */
  readonly tarpit: TarpitStats
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
}

function compile(
  config: Config,
  clock: Clock,
  configDir: string | undefined,
  previous?: Runtime,
): Runtime {
  const sameStore =
    previous && JSON.stringify(previous.config.store) === JSON.stringify(config.store)
  const store = sameStore ? previous.store : createStore(config.store)
  const engine = createEngine(config, {
    clock,
    store,
    ...(configDir !== undefined ? { configDir } : {}),
    onError: (err, where, ctx) =>
      notice({
        kind: 'layer-error',
        level: 'error',
        msg: `layer failed in ${where}; failing closed`,
        err: String((err as Error)?.stack ?? err),
        requestId: ctx?.id,
      }),
  })
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
    untrustedDrop: new Set<string>([
      ...CLIENT_IP_HEADERS,
      idHeader,
      'x-forwarded-proto',
      'x-forwarded-host',
    ]),
    trustedDrop: new Set<string>(['x-forwarded-for', idHeader]),
  }
}

/**
 * Starts the gateway and resolves once it listens.
 * @example
 * const gw = await startGateway(config, { port: 0 })
 * console.log(gw.url)
 */
export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const clock = opts.clock ?? systemClock
  let rt = compile(config, clock, opts.configDir)
  const s = config.server
  let inFlight = 0
  let draining = false
  let drained: (() => void) | undefined
  let warnedForwarding = 0
  let warnedTarpit = 0
  // One tarpit for the gateway's life: answers held under an old config count against the caps.
  const tarpit = createTarpit(tarpitOptions(config))

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
    onRequest,
  )
  server.on('clientError', onClientError)

  function onRequest(req: IncomingMessage, res: ServerResponse) {
    const r = rt
    inFlight++
    // In flight until the answer is handed to the OS (or the client left): close() must not
    // destroy a socket whose last bytes are still queued.
    res.once('close', () => {
      if (--inFlight === 0 && drained) drained()
    })
    let settled = false
    let bodyTimer: NodeJS.Timeout | undefined
    const { ctx, refusal } = r.engine.prepare({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      remoteAddress: req.socket.remoteAddress,
      readBody: (cap) => readBody(req, cap),
    })
    const withBody = hasBody(req.headers)
    if (withBody) {
      // The whole body must arrive within bodyTimeout: a body trickled a byte at a time is cut
      // off when its total time runs out, not only when a single read stalls.
      bodyTimer = setTimeout(onBodyTimeout, r.config.server.bodyTimeout)
      req.once('end', () => clearTimeout(bodyTimer))
    }
    if (ctx.forwardingIgnored) warnForwarding(r, ctx)

    const finish = (decision: Decision, status: number, byGateway: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(bodyTimer)
      const outcome = { status, ms: clock.now() - ctx.receivedAt, byGateway }
      r.engine.observe(ctx, outcome, decision)
      if (decisionChannel.hasSubscribers) decisionChannel.publish({ ctx, decision, outcome })
    }

    function onBodyTimeout() {
      notice({
        kind: 'body-timeout',
        level: 'warn',
        msg: 'request body did not arrive in time',
        requestId: ctx.id,
        ip: ctx.identity.ip,
      })
      if (!res.headersSent) {
        const body = errorBody(408, ctx.id)
        res.writeHead(408, {
          'content-type': 'application/json',
          [r.config.server.requestIdHeader]: ctx.id,
          connection: 'close',
          'content-length': Buffer.byteLength(body),
        })
        res.end(body)
      }
      req.socket.destroy()
      finish(
        refuse({
          action: 'block',
          rule: 'request.body-timeout',
          reason: 'body too slow',
          monitor: false,
          status: 408,
        }),
        408,
        true,
      )
    }

    if (refusal) return act(refuse(refusal))
    const d = r.engine.inspect(ctx)
    if (d instanceof Promise)
      d.then(act, (err) =>
        act(
          refuse({
            action: 'block',
            rule: 'engine.error',
            reason: String(err),
            monitor: false,
            status: 500,
          }),
        ),
      )
    else act(d)

    function act(decision: Decision) {
      if (settled) return
      const effect = toEffect(decision, ctx.id)
      if (effect.delayMs > 0 && effect.kind === 'respond') {
        // The gateway's own delayed answer (a fake, chaos): held by the tarpit under its caps.
        const release = tarpit.hold(effect.delayMs, Buffer.byteLength(effect.body), () =>
          carryOut(decision, effect),
        )
        if (release) res.once('close', release)
        else overflow(decision)
      } else if (effect.delayMs > 0) {
        const t = setTimeout(carryOut, effect.delayMs, decision, effect)
        res.once('close', () => clearTimeout(t))
      } else carryOut(decision, effect)
    }

    /** The tarpit is full: the cheapest answer, at once. */
    function overflow(decision: Decision) {
      warnTarpit()
      if (tarpit.options.overflow === 'close') {
        req.socket.destroy()
        return finish(decision, 0, true)
      }
      respond(res, 429, {}, errorBody(429, ctx.id), ctx.id, true, r.config.server.requestIdHeader)
      if (withBody && !req.complete) req.resume()
      finish(decision, 429, true)
    }

    function carryOut(decision: Decision, effect: Effect) {
      if (settled || res.destroyed) return finish(decision, 0, true)
      if (effect.kind === 'respond') {
        respond(
          res,
          effect.status,
          effect.headers,
          effect.body,
          ctx.id,
          draining,
          r.config.server.requestIdHeader,
        )
        // Unread body bytes are discarded; the connection closes if the body is large.
        if (withBody && !req.complete) req.resume()
        return finish(decision, effect.status, true)
      }
      const upstream = ctx.route.upstream
      const pool = upstream === undefined ? undefined : r.pools.get(upstream)
      if (!pool) {
        respond(
          res,
          404,
          {},
          errorBody(404, ctx.id),
          ctx.id,
          draining,
          r.config.server.requestIdHeader,
        )
        if (withBody && !req.complete) req.resume()
        return finish(decision, 404, true)
      }
      const buffered = bodyState(ctx)?.value?.bytes
      forward(
        pool,
        {
          method: ctx.method,
          path: ctx.query ? `${ctx.path}?${ctx.query}` : ctx.path,
          headers: upstreamHeaders(
            req.rawHeaders,
            ctx.identity.ipSource === 'socket' ? r.untrustedDrop : r.trustedDrop,
            forwardingHeaders(req, ctx, r),
            buffered?.length,
            ctx.upstreamHeaders,
          ),
          body: buffered ?? (withBody ? req : null),
          // Read when the upstream answers, so a request in flight when close() began is told so.
          get responseHeaders() {
            return draining ? { ...effect.headers, connection: 'close' } : effect.headers
          },
          requestId: ctx.id,
          requestIdHeader: r.config.server.requestIdHeader,
          done: (status, byGateway) => finish(decision, status, byGateway),
        },
        res,
      )
    }
  }

  function onClientError(err: Error & { code?: string }, socket: Socket) {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    notice({
      kind: 'client-error',
      level: 'warn',
      msg: `malformed or incomplete request: ${err.code ?? err.message}`,
      status,
      ip: socket.remoteAddress,
    })
    if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      )
    }
    socket.destroy()
  }

  function warnTarpit() {
    const now = clock.now()
    if (now - warnedTarpit < 60_000) return
    warnedTarpit = now
    notice({
      kind: 'tarpit-full',
      level: 'warn',
      msg: `tarpit full (${tarpit.active} answers, ${tarpit.bytes} bytes held): delayed answers overflow with ${tarpit.options.overflow === 'close' ? 'a closed connection' : 'a plain 429'}`,
      overflowed: tarpit.overflowed,
    })
  }

  function warnForwarding(r: Runtime, ctx: RequestContext) {
    const now = clock.now()
    if (now - warnedForwarding < 60_000) return
    warnedForwarding = now
    notice({
      kind: 'untrusted-forwarding',
      level: 'warn',
      msg: r.config.server.trustedProxies.length
        ? 'forwarding headers from a client that is not a trusted proxy were ignored'
        : 'forwarding headers arrived but server.trustedProxies is empty: they were ignored (set trustedProxies if Bulwark runs behind a proxy)',
      ip: ctx.identity.ip,
    })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? s.port, opts.host ?? s.host, () => {
      server.off('error', reject)
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
      return rt.engine
    },
    tarpit,
    async reload(next: Config) {
      const old = rt
      rt = compile(next, clock, opts.configDir, old)
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
      draining = true
      // Held answers go out now (with `connection: close`) instead of waiting out their delays.
      tarpit.flush()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve
          setTimeout(resolve, rt.config.server.shutdownTimeout).unref()
        })
      }
      server.closeAllConnections()
      await closed
      await Promise.all([...rt.pools.values()].map((p) => p.close()))
      await rt.engine.close()
      await rt.store.close()
    },
  }
}

function respond(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
  requestId: string,
  close: boolean,
  idHeader: string,
) {
  if (res.headersSent) return
  res.writeHead(status, {
    'content-type': 'application/json',
    ...headers,
    'content-length': Buffer.byteLength(body),
    [idHeader]: requestId,
    ...(close ? { connection: 'close' } : {}),
  })
  res.end(body)
}

/** The tarpit's caps: `deception.tarpit`, or its defaults when there is no deception block. */
function tarpitOptions(config: Config): TarpitOptions {
  return config.deception?.tarpit ?? DEFAULT_TARPIT
}
const DEFAULT_TARPIT: TarpitOptions = TarpitSpec.parse({})

/** X-Forwarded-For (the chain plus this hop), -Proto, -Host and the request id. */
function forwardingHeaders(req: IncomingMessage, ctx: RequestContext, r: Runtime): string[] {
  // On a dual-stack listener an IPv4 client is ::ffff:a.b.c.d; send it as ctx.identity has it.
  const sock = normalizeIp(req.socket.remoteAddress ?? '')
  const prior = req.headers['x-forwarded-for']
  const xff =
    ctx.identity.ipSource !== 'socket' && prior
      ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${sock}`
      : sock
  const out = ['x-forwarded-for', xff]
  // A trusted proxy saw the client's scheme and host, and its headers pass through: adding this
  // hop's too would send two values (`https, http`) for the backend to choose from.
  const fromProxy = ctx.identity.ipSource !== 'socket'
  if (!fromProxy || req.headers['x-forwarded-proto'] === undefined)
    out.push('x-forwarded-proto', 'http')
  if (!fromProxy || req.headers['x-forwarded-host'] === undefined)
    out.push('x-forwarded-host', req.headers.host ?? '')
  out.push(r.config.server.requestIdHeader, ctx.id)
  return out
}
