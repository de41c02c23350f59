/**
 * A node:http request (plain handlers, Express 4 and 5) as the engine's RawRequest: the same
 * fields the proxy hands over, with a body reader that leaves the body for the app.
 *
 * Owns: nothing but the mapping. Called by the node-http and express adapters; usable by any
 * framework built on node:http.
 * @see ../../docs/embedded.md#requests
 */
import type { IncomingMessage } from 'node:http'
import type { RawRequest } from '../engine/context.js'
import { readNodeBody, type ParsedBodyCarrier } from './node-body.js'

/**
 * The node request as the engine's RawRequest; its body reader leaves the body for the app.
 * @param url The target as received, when `req.url` was rewritten (Express's `originalUrl`
 * inside a mounted router).
 * @example
 * const r = await bulwark.inspect(fromNodeRequest(req))
 */
export function fromNodeRequest(
  req: IncomingMessage & ParsedBodyCarrier,
  url: string | undefined = req.url,
): RawRequest {
  return {
    method: req.method ?? 'GET',
    url: url ?? '/',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    remoteAddress: req.socket?.remoteAddress,
    connection: req.socket ?? undefined,
    httpVersion: req.httpVersion,
    readBody: (cap) => readNodeBody(req, cap),
  }
}
