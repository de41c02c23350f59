/**
 * The admin listener: a second node:http server, apart from the public one and on loopback by
 * default, serving Prometheus `/metrics`, the admin API (`/api/…`), the live event stream and
 * the dashboard. Everything it knows comes from the telemetry channels (metrics.ts, feed.ts);
 * the only things it does to the gateway are unblock (store flags, `Layer.forget`) and reload.
 *
 * Owns its server, the metrics registry, the recent events and the traffic counters. Called by
 * the CLI (src/cli/run-gateway.ts) and by tests.
 * @see ../../docs/dashboard.md
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import type { AdminConfig } from '../config/schema.js'
import { BulwarkError } from '../errors.js'
import type { Gateway } from '../proxy/gateway.js'
import { notice } from '../telemetry/channels.js'
import { createMetrics, type Metrics } from '../telemetry/metrics.js'
import { RecentEvents } from '../telemetry/recent.js'
import { API, type ApiParts, type ReloadResult } from './api.js'
import { authorize, Sessions, sessionCookie, tokenMatches } from './auth.js'
import { subscribeFeed } from './feed.js'
import { FlagIndex } from './flags.js'
import { HttpError, json, readJson } from './http.js'
import { isLoopback } from './loopback.js'
import { defaultWebRoot, staticFiles } from './static.js'
import { EventStream } from './sse.js'
import { Traffic } from './traffic.js'

export type { ReloadResult } from './api.js'

export interface AdminOptions {
  readonly config: AdminConfig
  readonly gateway: Gateway
  /** Reloads the config from its file; without it `POST /api/reload` answers 409. */
  readonly reload?: () => Promise<ReloadResult>
  readonly configFile?: string
  /** Directory of the built dashboard (default: the package's `dist/web`). */
  readonly webRoot?: string
  /** Overrides `admin.port` / `admin.host` (tests: port 0). */
  readonly port?: number
  readonly host?: string
  readonly now?: () => number
  /** Node process metrics in /metrics (default true). */
  readonly processMetrics?: boolean
}

export interface Admin {
  readonly server: Server
  readonly url: string
  readonly port: number
  readonly metrics: Metrics
  readonly recent: RecentEvents
  /** Records a reload (any trigger) and applies the new admin block's token. */
  reloaded(result: ReloadResult, next?: AdminConfig): void
  close(): Promise<void>
}

/** How long a readiness probe may wait for the store. */
const PROBE_MS = 1_000

/**
 * Starts the admin listener and resolves once it listens.
 * @throws {BulwarkError} `ERR_CONFIG_INVALID` on a non-loopback host without a token;
 * `ERR_LISTEN` when the address cannot be bound.
 * @example
 * const admin = await startAdmin({ config: config.admin, gateway: gw })
 * console.log(`${admin.url}/`)
 */
export async function startAdmin(opts: AdminOptions): Promise<Admin> {
  const host = opts.host ?? opts.config.host
  const port = opts.port ?? opts.config.port
  let token = opts.config.token || undefined
  if (!token && !isLoopback(host))
    throw new BulwarkError(
      'ERR_CONFIG_INVALID',
      `admin.token: required when admin.host is not a loopback address (${JSON.stringify(host)})`,
    )
  let sessions = token ? new Sessions(token) : undefined
  const now = opts.now ?? Date.now
  const gw = opts.gateway
  const metrics = createMetrics({
    inFlight: () => gw.inFlight,
    tarpit: () => gw.tarpit,
    ...(opts.processMetrics === false ? { process: false } : {}),
  })
  const recent = new RecentEvents({ capacity: opts.config.recent })
  const traffic = new Traffic()
  const flags = new FlagIndex()
  const stream = new EventStream({
    onSecond: () => stream.send('tick', { t: now(), counts: traffic.lastSecond(now()) }),
  })
  const unsubscribe = subscribeFeed({ traffic, recent, stream, flags, now })
  const parts: ApiParts = {
    gateway: gw,
    recent,
    traffic,
    flags,
    stream,
    metrics,
    now,
    startedAt: now(),
    version: packageVersion(),
    configFile: opts.configFile,
    reload: opts.reload,
    lastReload: undefined,
  }
  const serveStatic = staticFiles(resolve(opts.webRoot ?? defaultWebRoot()))

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://admin')
    const route = `${req.method} ${url.pathname}`
    if (route === 'GET /healthz') return json(res, 200, { status: 'ok' })
    if (route === 'GET /readyz') return ready(res)
    if (url.pathname === '/api/session') return session(req, res)
    const isApi = url.pathname.startsWith('/api/') || url.pathname === '/metrics'
    if (!isApi && (await serveStatic(req, res))) return
    const auth = authorize(req, token, sessions, now())
    if (!auth.ok)
      return json(res, auth.status, { error: auth.error }, auth.status === 401 ? CHALLENGE : {})
    const handler = API[route]
    if (handler) return handler(req, res, url, parts)
    json(res, 404, { error: `no such endpoint: ${route}` })
  }

  /** `GET` tells whether a token is needed and held; `POST {token}` logs in; `DELETE` out. */
  async function session(req: IncomingMessage, res: ServerResponse) {
    if (req.method === 'GET') {
      const auth = authorize(req, token, sessions, now())
      return json(res, 200, { auth: token ? 'token' : 'none', authenticated: auth.ok })
    }
    if (req.method === 'DELETE')
      return json(res, 200, {}, { 'set-cookie': sessionCookie(undefined) })
    if (req.method !== 'POST') return json(res, 405, { error: 'use GET, POST or DELETE' })
    if (!token || !sessions) return json(res, 200, { auth: 'none' })
    const given = (await readJson(req, 4096)).token
    if (typeof given !== 'string' || !tokenMatches(given, token))
      return json(res, 401, { error: 'wrong token' })
    json(res, 200, { auth: 'token' }, { 'set-cookie': sessionCookie(sessions.issue(now())) })
  }

  /** Ready when the gateway listens and the store answers within a second. */
  async function ready(res: ServerResponse) {
    const checks: Record<string, string> = {}
    checks.gateway = gw.server.listening ? 'ok' : 'not listening'
    const start = performance.now()
    let ok = true
    try {
      await Promise.race([
        gw.engine.store.flagged(['bulwark:probe'], now()),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`no answer in ${PROBE_MS} ms`)), PROBE_MS).unref(),
        ),
      ])
      checks.store = 'ok'
    } catch (err) {
      ok = false
      checks.store = String((err as Error)?.message ?? err)
    }
    metrics.storeCall('probe', (performance.now() - start) / 1000, ok)
    const status = ok && checks.gateway === 'ok' ? 'ready' : 'not ready'
    json(res, status === 'ready' ? 200 : 503, { status, checks })
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500
      if (status === 500)
        notice({
          kind: 'admin-error',
          level: 'error',
          msg: 'admin request failed',
          err: String(err),
        })
      if (!res.headersSent) json(res, status, { error: (err as Error)?.message ?? String(err) })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      unsubscribe()
      metrics.close()
      reject(
        new BulwarkError(
          'ERR_LISTEN',
          `admin listener: cannot listen on ${host}:${port} (${err.code ?? err.message})`,
          { cause: err },
        ),
      )
    })
    server.listen(port, host, () => resolve())
  })
  server.removeAllListeners('error')
  const addr = server.address() as AddressInfo
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address

  return {
    server,
    url: `http://${shown}:${addr.port}`,
    port: addr.port,
    metrics,
    recent,
    reloaded(result, next) {
      parts.lastReload = result
      metrics.reloaded(result.ok, result.at)
      stream.send('reload', result)
      if (result.ok && next && (next.token || undefined) !== token) {
        token = next.token || undefined
        sessions = token ? new Sessions(token) : undefined
      }
    },
    async close() {
      unsubscribe()
      metrics.close()
      stream.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="bulwark-admin"' }

function packageVersion(): string {
  try {
    const root = resolve(defaultWebRoot(), '..', '..')
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
      .version
  } catch {
    return 'unknown'
  }
}
