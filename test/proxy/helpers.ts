/**
 * Socket-level helpers for the gateway's integration tests: a recording upstream, a gateway on
 * port 0, a raw HTTP/1.1 client (for targets and framings that fetch and undici would refuse or
 * normalise) and a collector for `bulwark:decision` messages.
 * @see ../../src/proxy/gateway.ts
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { ConfigSpec, type Config } from '../../src/config/schema.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import type { DecisionMessage } from '../../src/telemetry/channels.js'

/** A config from a plain object, defaults filled in (no file, no freezing). */
export function gwConfig(obj: Record<string, unknown>): Config {
  return ConfigSpec.parse(obj)
}

/** Starts a gateway on 127.0.0.1, port 0. */
export function startGw(obj: Record<string, unknown>): Promise<Gateway> {
  return startGateway(gwConfig(obj), { port: 0, host: '127.0.0.1' })
}

/** One request as the test upstream saw it. */
export interface Seen {
  readonly method: string
  /** The raw target, exactly as received. */
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly rawHeaders: readonly string[]
  /** Body bytes read so far (final once the request ended). */
  bytes: number
}

/**
 * A route of the test upstream. It owns the request body: read it or not, then answer.
 * Unhandled paths are echoed: the body is read and counted, the answer is JSON of {@link Seen}.
 */
export type UpstreamRoute = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void

export interface Upstream {
  readonly url: string
  readonly port: number
  readonly server: Server
  /** Every request, oldest first, recorded as soon as its head arrives. */
  readonly received: Seen[]
  close(): Promise<void>
}

/** Starts a recording upstream; `routes` are keyed by exact path (without the query). */
export async function startUpstream(routes: Record<string, UpstreamRoute> = {}): Promise<Upstream> {
  const received: Seen[] = []
  const server = createServer((req, res) => {
    const seen: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bytes: 0,
    }
    received.push(seen)
    req.on('data', (c: Buffer) => (seen.bytes += c.length))
    const q = seen.url.indexOf('?')
    const route = routes[q < 0 ? seen.url : seen.url.slice(0, q)]
    if (route) return route(req, res, seen)
    req.on('end', () => {
      const body = JSON.stringify({ method: seen.method, url: seen.url, bytes: seen.bytes })
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      res.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

/** A response read off a raw socket. `status` is 0 when the server closed without answering. */
export interface RawResponse {
  readonly status: number
  /** Header names lower-cased, values in arrival order. */
  readonly headers: Readonly<Record<string, readonly string[]>>
  readonly body: string
  /** Everything the server sent. */
  readonly raw: string
}

/** Parses the first response in `bytes`, or undefined while it is incomplete. */
function parseResponse(bytes: Buffer, closed: boolean): RawResponse | undefined {
  const raw = bytes.toString('latin1')
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return closed ? { status: 0, headers: {}, body: '', raw } : undefined
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? 0)
  const headers: Record<string, string[]> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    ;(headers[name] ??= []).push(line.slice(colon + 1).trim())
  }
  const rest = bytes.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1'))
  const length = headers['content-length']?.[0]
  if (length !== undefined) {
    if (rest.length < Number(length)) return closed ? { status, headers, body: '', raw } : undefined
    return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8'), raw }
  }
  return closed ? { status, headers, body: rest.toString('utf8'), raw } : undefined
}

/**
 * Writes `request` as is on a fresh connection and resolves with the first response, once it is
 * complete or the server closed the connection.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let done = false
    const settle = (closed: boolean) => {
      if (done) return
      const res = parseResponse(Buffer.concat(chunks), closed)
      if (!res) return
      done = true
      socket.destroy()
      resolve(res)
    }
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      settle(false)
    })
    socket.on('close', () => settle(true))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the server answered (it refused and closed) still counts as an answer.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return
      if (!done) reject(err)
      done = true
    })
    socket.write(request)
  })
}

/** `GET target` with a Host header and `Connection: close`, plus extra header lines. */
export function rawGet(port: number, target: string, extra: readonly string[] = []) {
  const head = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...extra, 'Connection: close']
  return rawRequest(port, Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'))
}

/** Collects `bulwark:decision` messages until `stop()`. */
export function captureDecisions() {
  const messages: DecisionMessage[] = []
  const onMessage = (m: unknown) => void messages.push(m as DecisionMessage)
  diagnostics_channel.subscribe('bulwark:decision', onMessage)
  return {
    messages,
    /** The message of the request with this id. */
    byId: (id: string) => messages.find((m) => m.ctx.id === id),
    stop: () => diagnostics_channel.unsubscribe('bulwark:decision', onMessage),
  }
}

/** A promise with its resolve function, for one side of a test to wait on the other. */
export function signal<T = void>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/**
 * Rejects with `message` when `p` has not settled within `ms`: turns "the gateway buffered
 * everything, so this never happens" into a readable failure instead of a test timeout.
 */
export function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
