/**
 * Baseline reverse proxy: bare `node:http` server + one `undici` `Pool` to a single upstream.
 *
 * This is the yardstick Bulwark is compared against, so it is honest but lean: keep-alive to the
 * upstream, request bodies streamed (`body: req`), hop-by-hop headers stripped both ways (plus
 * those named by `Connection`), status and remaining headers copied, response body streamed with
 * backpressure, 502 when the upstream fails before answering. No routing, no logging, no policy,
 * no `x-forwarded-*` headers.
 *
 * Two forwarding modes (`--mode`):
 * - `dispatch` (default): undici's `pool.dispatch` with a small handler object writing straight
 *   to the `ServerResponse` — the leanest undici path, and the one Bulwark itself uses.
 * - `request`: the idiomatic `pool.request` + `stream.pipeline(body, res)`; costs an extra
 *   `Readable` per response. Kept as a reference point (`baseline-request` target).
 *
 * Run as its own process: `node dist/bench/baseline-proxy.js --port N
 * --upstream http://127.0.0.1:M [--host 127.0.0.1] [--mode dispatch|request]`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { pipeline, type Readable } from 'node:stream'
import { Pool, type Dispatcher } from 'undici'
import { readFlag, requirePort } from './lib/flags.js'

/**
 * Headers that describe one connection hop and must not be forwarded (RFC 9110 §7.6.1), plus
 * `expect`: node:http already answered `100 Continue` to the client, and undici rejects it.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** Extra hop-by-hop names a `Connection` header lists, or `undefined` when there are none. */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  const tokens = new Set<string>()
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase()
    if (name !== '' && name !== 'close' && name !== 'keep-alive') tokens.add(name)
  }
  return tokens.size > 0 ? tokens : undefined
}

/** What {@link forwardRequest} derives from the incoming request's raw headers. */
interface ForwardRequest {
  /** Headers to send upstream, as undici's flat `[name, value, ...]` array. */
  headers: string[]
  /** Whether the request carries a body (`content-length` or `transfer-encoding` present). */
  hasBody: boolean
}

/**
 * One pass over `rawHeaders` (avoids building `req.headers`): drops hop-by-hop headers, including
 * any named by `Connection`, and notes whether a body follows.
 */
function forwardRequest(req: IncomingMessage): ForwardRequest {
  const raw = req.rawHeaders
  const headers: string[] = []
  let hasBody = false
  let extra: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    if (name === 'content-length' || name === 'transfer-encoding') hasBody = true
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') extra = connectionTokens(raw[i + 1])
      continue
    }
    headers.push(raw[i], raw[i + 1])
  }
  if (extra === undefined) return { headers, hasBody }
  const filtered: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (!extra.has(headers[i].toLowerCase())) filtered.push(headers[i], headers[i + 1])
  }
  return { headers: filtered, hasBody }
}

/** Response headers to send downstream: everything except hop-by-hop headers. */
function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connection = headers.connection
  const extra = connectionTokens(Array.isArray(connection) ? connection.join(',') : connection)
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || extra?.has(name)) continue
    const value = headers[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

/** Response headers to send downstream from undici's raw `[name, value, ...]` buffers. */
function rawResponseHeaders(raw: Buffer[]): string[] {
  const out: string[] = []
  let extra: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1')
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') extra = connectionTokens(raw[i + 1].toString('latin1'))
      continue
    }
    out.push(name, raw[i + 1].toString('latin1'))
  }
  if (extra === undefined) return out
  const filtered: string[] = []
  for (let i = 0; i < out.length; i += 2) {
    if (!extra.has(out[i].toLowerCase())) filtered.push(out[i], out[i + 1])
  }
  return filtered
}

/**
 * undici dispatch handler (the classic callback API, which undici 7 runs natively) that writes the
 * upstream response straight to the client's `ServerResponse`, pausing on backpressure and
 * aborting the upstream request when the client goes away.
 */
class ResponseWriter {
  private readonly res: ServerResponse
  private abort: ((err?: Error) => void) | undefined
  private resume: (() => void) | undefined
  private done = false
  readonly onClientClose: () => void
  readonly onDrain: () => void

  constructor(res: ServerResponse) {
    this.res = res
    this.onClientClose = () => {
      if (this.done) return
      this.done = true
      this.abort?.(new Error('client closed the connection'))
    }
    this.onDrain = () => this.resume?.()
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.done) abort(new Error('client closed the connection'))
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true
    this.resume = resume
    this.res.writeHead(statusCode, rawResponseHeaders(raw))
    return true
  }

  onData(chunk: Buffer): boolean {
    const ok = this.res.write(chunk)
    if (!ok) this.res.once('drain', this.onDrain)
    return ok
  }

  onComplete(): void {
    if (this.done) return
    this.done = true
    this.res.end()
  }

  onError(): void {
    if (this.done) return
    this.done = true
    fail(this.res)
  }
}

function fail(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(502, { 'content-type': 'text/plain', 'content-length': '11' })
  res.end('Bad Gateway')
}

const argv = process.argv.slice(2)
const port = requirePort(argv, 'port')
const host = readFlag(argv, 'host') ?? '127.0.0.1'
const upstream = readFlag(argv, 'upstream')
if (upstream === undefined) {
  console.error('missing --upstream http://host:port')
  process.exit(2)
}
const mode = readFlag(argv, 'mode') ?? 'dispatch'
if (mode !== 'dispatch' && mode !== 'request') {
  console.error(`unknown --mode ${mode} (dispatch or request)`)
  process.exit(2)
}

const pool = new Pool(upstream, {
  connections: 256,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 60_000,
})

/** `dispatch` mode: one handler object per request, no intermediate stream. */
function forwardDispatch(req: IncomingMessage, res: ServerResponse): void {
  const { headers, hasBody } = forwardRequest(req)
  const writer = new ResponseWriter(res)
  res.once('close', writer.onClientClose)
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
    },
    writer as Dispatcher.DispatchHandler,
  )
}

/** `request` mode: `pool.request` and a `pipeline` from undici's body stream to the response. */
function forwardRequestMode(req: IncomingMessage, res: ServerResponse): void {
  const { headers, hasBody } = forwardRequest(req)
  pool.request(
    {
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
    },
    (err, data) => {
      if (err) {
        fail(res)
        return
      }
      res.writeHead(data.statusCode, responseHeaders(data.headers))
      pipeline(data.body as Readable, res, (pipeErr) => {
        if (pipeErr) res.destroy()
      })
    },
  )
}

const server = createServer(mode === 'request' ? forwardRequestMode : forwardDispatch)
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000
server.listen(port, host, () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  console.log(
    JSON.stringify({ msg: 'bench baseline proxy listening', host, port: bound, upstream }),
  )
})
