/**
 * Loopback helpers: free-port discovery and one-shot HTTP probes (no keep-alive, no pooling).
 */
import { createServer } from 'node:net'
import { request } from 'node:http'

/**
 * Asks the OS for a currently free TCP port on `host` by listening on port 0 and closing again.
 * Another process could grab the port before the caller binds it; callers retry on failure.
 *
 * @param host - Interface to probe, loopback by default.
 */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      if (typeof address !== 'object' || address === null) {
        server.close()
        reject(new Error('could not read the probed port'))
        return
      }
      const { port } = address
      server.close(() => resolve(port))
    })
  })
}

/** Options of {@link httpOnce}. */
export interface HttpOnceOptions {
  /** Absolute `http://` URL. */
  url: string
  /** HTTP method, `GET` by default. */
  method?: string
  /** Request headers. */
  headers?: Record<string, string>
  /** Request body, sent with a `content-length`. */
  body?: string
  /** Give up after this many milliseconds (default 2000). */
  timeoutMs?: number
}

/** Outcome of {@link httpOnce}. */
export interface HttpOnceResult {
  /** Response status code. */
  status: number
  /** Response body as text (truncated to 2 KiB). */
  body: string
}

/**
 * Sends one HTTP request on a fresh connection (`agent: false`) and resolves with the status and
 * body, or rejects on connection error / timeout.
 *
 * @param options - URL, method, headers, body and timeout.
 */
export function httpOnce(options: HttpOnceOptions): Promise<HttpOnceResult> {
  const { url, method = 'GET', headers = {}, body, timeoutMs = 2000 } = options
  return new Promise((resolve, reject) => {
    const allHeaders: Record<string, string> = { ...headers }
    if (body !== undefined) allHeaders['content-length'] = String(Buffer.byteLength(body))
    const req = request(url, { method, headers: allHeaders, agent: false }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < 2048) chunks.push(chunk)
        size += chunk.length
      })
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 2048)
        resolve({ status: res.statusCode ?? 0, body: text })
      })
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}
