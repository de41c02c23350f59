/**
 * Small HTTP helpers for the admin listener: JSON answers and capped JSON bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Answers `status` with `body` as JSON, never cached. */
export function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  })
  res.end(text)
}

/** An admin request that cannot be served, with the status to answer. */
export class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/** Reads a JSON object body of at most `cap` bytes (an empty body is `{}`). */
export async function readJson(
  req: IncomingMessage,
  cap = 64 * 1024,
): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? ''
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > cap) throw new HttpError(413, `body larger than ${cap} bytes`)
    chunks.push(chunk)
  }
  if (size === 0) return {}
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, 'expected content-type: application/json')
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'body is not valid JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'expected a JSON object')
  return value as Record<string, unknown>
}
