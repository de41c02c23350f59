/**
 * A WHATWG `Request` (Hono, and any fetch-style framework) as the engine's RawRequest.
 *
 * A `Request` has already been through URL parsing: dot segments are resolved and `\` became
 * `/`, so those ambiguities cannot be seen, let alone refused. Pass the target as received
 * (`target`) when the platform has it — the Hono adapter takes it from node:http's request.
 * Header order is lost too (Headers sorts names), which changes the device fingerprint; again
 * pass `rawHeaders` when the platform has them.
 *
 * Owns: the mapping and a capped body read. Called by the hono adapter.
 * @see ../../docs/embedded.md#requests
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RawRequest } from '../engine/context.js'
import { flatten } from './request.js'

/** Options of {@link fromFetchRequest}. */
export interface FetchRequestOptions {
  /** The request target exactly as received; default: path and query of `request.url`. */
  readonly target?: string
  /** The peer address of the connection (the client IP unless it is a trusted proxy). */
  readonly remoteAddress?: string | undefined
  /** Header names and values in arrival order, when the platform keeps them. */
  readonly rawHeaders?: readonly string[]
  /** Called with the bytes once read: the body stream is spent, so hand them back to the app. */
  readonly onBody?: (bytes: Buffer) => void
}

/**
 * A WHATWG Request as the engine's RawRequest.
 * @example
 * const r = await bulwark.inspect(fromFetchRequest(request, { remoteAddress }))
 */
export function fromFetchRequest(request: Request, opts: FetchRequestOptions = {}): RawRequest {
  const headers: IncomingHttpHeaders = {}
  request.headers.forEach((v, k) => {
    headers[k] = v
  })
  // A Request made in code carries a body without saying so; the engine reads only bodies a
  // request declares (RFC 9112 §6.3), so declare it the way a streamed body would be.
  if (
    request.body &&
    headers['content-length'] === undefined &&
    headers['transfer-encoding'] === undefined
  )
    headers['transfer-encoding'] = 'chunked'
  let target = opts.target
  if (target === undefined) {
    const u = new URL(request.url)
    target = u.pathname + u.search
  }
  return {
    method: request.method,
    url: target,
    headers,
    rawHeaders: opts.rawHeaders ?? flatten(headers),
    remoteAddress: opts.remoteAddress,
    readBody: async (cap) => {
      const bytes = await readCapped(request, cap)
      if (bytes) opts.onBody?.(bytes)
      return bytes
    },
  }
}

/** Reads a Request's body up to `cap` bytes; null when larger (the rest is cancelled). */
export async function readCapped(request: Request, cap: number): Promise<Buffer | null> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (Number.isFinite(declared) && declared > cap) return null
  if (!request.body) return Buffer.alloc(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > cap) {
        void reader.cancel()
        return null
      }
      chunks.push(value)
    }
  } catch {
    return null
  }
  return Buffer.concat(chunks, size)
}
