/**
 * The request an app hands to `inspect()`, in the plainest form a framework can give: method,
 * target, headers, client address and (when a rule may need it) the body. It becomes the
 * engine's {@link RawRequest}; the engine then builds the canonical view exactly as the proxy
 * does.
 *
 * Owns: {@link BulwarkRequest} and its conversion. Called by embedded/bulwark.ts.
 * @see ../../docs/embedded.md#requests
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RawRequest } from '../engine/context.js'

/** Where the body comes from: its bytes, its text (UTF-8), or a reader that honours the cap. */
export type BodySource = Buffer | Uint8Array | string | ((cap: number) => Promise<Buffer | null>)

/**
 * A request as received.
 * @example
 * { method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json' },
 *   remoteAddress: '203.0.113.9', body: '{"username":"bob"}' }
 */
export interface BulwarkRequest {
  readonly method: string
  /**
   * The request target exactly as received (`req.url`: path and query, not decoded or
   * normalised), so ambiguous paths are seen and refused.
   */
  readonly url: string
  /** Header names in any case; values as node:http gives them. */
  readonly headers:
    IncomingHttpHeaders | Readonly<Record<string, string | readonly string[] | undefined>>
  /** Names and values in arrival order (`req.rawHeaders`); made from `headers` when absent. */
  readonly rawHeaders?: readonly string[]
  /** The socket's peer address; the client IP unless it is a trusted proxy. */
  readonly remoteAddress?: string | undefined
  /**
   * The HTTP version as received (`req.httpVersion`: `'1.1'`, `'1.0'`): a chunked body on
   * HTTP/1.0 is refused, as the proxy refuses it. Unknown when absent (no such check).
   */
  readonly httpVersion?: string | undefined
  /**
   * The body. Read only when a rule needs it. A reader resolves `null` when the body is larger
   * than `cap` (the request is then refused with 413).
   */
  readonly body?: BodySource | undefined
}

/** True for an engine RawRequest, which passes through untouched. */
function isRaw(r: BulwarkRequest | RawRequest): r is RawRequest {
  return typeof (r as RawRequest).readBody === 'function'
}

const NO_BODY = (): Promise<Buffer> => Promise.resolve(Buffer.alloc(0))

/**
 * Converts a {@link BulwarkRequest} into the engine's RawRequest. Header names are lower-cased;
 * a body given without `content-length` or `transfer-encoding` gets a `content-length`, since
 * the engine reads bodies only from requests that declare one.
 */
export function toRawRequest(req: BulwarkRequest | RawRequest): RawRequest {
  if (isRaw(req)) return req
  let headers = lowerCased(req.headers)
  const body = req.body
  let readBody: RawRequest['readBody'] = NO_BODY
  if (typeof body === 'function') readBody = body
  else if (body !== undefined) {
    const bytes =
      typeof body === 'string'
        ? Buffer.from(body)
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    readBody = (cap) => Promise.resolve(bytes.length > cap ? null : bytes)
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined)
      headers = { ...headers, 'content-length': String(bytes.length) }
  }
  return {
    method: req.method.toUpperCase(),
    url: req.url,
    headers,
    rawHeaders: req.rawHeaders ?? flatten(headers),
    remoteAddress: req.remoteAddress,
    ...(req.httpVersion !== undefined ? { httpVersion: req.httpVersion } : {}),
    readBody,
  }
}

function lowerCased(h: BulwarkRequest['headers']): IncomingHttpHeaders {
  for (const k in h) if (k !== k.toLowerCase()) return mapLower(h)
  return h as IncomingHttpHeaders
}

function mapLower(h: BulwarkRequest['headers']): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue
    const name = k.toLowerCase()
    const prev = out[name]
    const next = typeof v === 'string' ? v : [...v]
    out[name] = prev === undefined ? next : [prev, next].flat()
  }
  return out as IncomingHttpHeaders
}

/** `{ a: '1', b: ['2', '3'] }` → `['a', '1', 'b', '2', 'b', '3']`. */
export function flatten(headers: IncomingHttpHeaders): string[] {
  const out: string[] = []
  for (const k in headers) {
    const v = headers[k]
    if (v === undefined) continue
    if (typeof v === 'string') out.push(k, v)
    else for (const one of v) out.push(k, one)
  }
  return out
}
