/**
 * The body of a node:http request (Express, plain handlers), read for the layers without taking
 * it from the app. In order of preference:
 *
 * 1. `req.rawBody`: the exact bytes, kept by a body parser's `verify` hook ({@link keepRawBody}).
 * 2. The stream, when nobody has read it yet (Bulwark runs before the body parser): read up to
 *    the cap, then put back with `unshift()` before `'end'` is emitted, so the app's parser
 *    reads the same bytes as if the stream had never been touched.
 * 3. `req.body`, when a parser already consumed the stream: re-serialised (parsed-body.ts).
 *    The app and Bulwark then read the same object, but what the parser discarded is gone:
 *    a JSON key given twice is no longer seen, so it is not refused.
 *
 * A stream already consumed with none of these left is a setup error: reading fails, and the
 * engine fails closed (500) with an error naming the fix.
 *
 * Owns: reading and replaying a node request body. Called by embedded/node-request.ts.
 * @see ../../docs/embedded.md#bodies
 */
import type { IncomingMessage } from 'node:http'
import { notice } from '../telemetry/channels.js'
import { serialiseParsed } from './parsed-body.js'

/** What body parsers may leave on a node request (Express's `req.body`, a `verify` hook's `rawBody`). */
export interface ParsedBodyCarrier {
  /** The exact bytes, when a parser's `verify` hook (or a raw-body plugin) kept them. */
  rawBody?: unknown
  /** The parsed body (`express.json()`, `express.urlencoded()`, `express.text()`, …). */
  body?: unknown
  /** Set by body-parser once it has consumed the stream. */
  _body?: boolean
}

/**
 * A `verify` hook for Express's (body-parser's) parsers that keeps the exact bytes on
 * `req.rawBody`, so Bulwark can run after the parser and still read what was sent.
 * @example
 * app.use(express.json({ verify: keepRawBody }))
 * app.use(bulwarkExpress(bulwark))
 */
export function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  ;(req as IncomingMessage & ParsedBodyCarrier).rawBody = buf
}

let warnedParsed = false

/** Reads the body of `req` up to `cap` bytes (null when larger), leaving it for the app. */
export function readNodeBody(
  req: IncomingMessage & ParsedBodyCarrier,
  cap: number,
): Promise<Buffer | null> {
  const raw = req.rawBody
  if (raw !== undefined && raw !== null) {
    const bytes = typeof raw === 'string' ? Buffer.from(raw) : toBuffer(raw)
    if (bytes) return Promise.resolve(bytes.length > cap ? null : bytes)
  }
  if (untouched(req)) return readAndReplay(req, cap)
  if (req.body !== undefined) {
    if (!warnedParsed) {
      warnedParsed = true
      notice({
        kind: 'parsed-body',
        level: 'info',
        msg: 'request bodies are re-serialised from the parsed body: keys given twice cannot be refused; run Bulwark before the body parser or keep the raw body (keepRawBody)',
      })
    }
    const bytes = serialiseParsed(req.body, req.headers['content-type'])
    return Promise.resolve(bytes.length > cap ? null : bytes)
  }
  return Promise.reject(
    new Error(
      'the request body was consumed before Bulwark and neither req.rawBody nor req.body is set: run Bulwark before the body parser, or keep the raw body (keepRawBody)',
    ),
  )
}

/** Nobody has read from the stream or asked it to flow. */
function untouched(req: IncomingMessage & ParsedBodyCarrier): boolean {
  return (
    !req.readableEnded &&
    req.readableFlowing !== true &&
    req._body !== true &&
    req.listenerCount('data') === 0
  )
}

function toBuffer(v: unknown): Buffer | undefined {
  if (Buffer.isBuffer(v)) return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return undefined
}

/**
 * Reads the whole stream in paused mode, then puts the bytes back. `unshift()` is allowed until
 * `'end'` has been emitted; the last `read()` only schedules that for the next tick, and a
 * non-empty buffer cancels it, so the next reader gets every byte and then `'end'`.
 */
export function readAndReplay(req: IncomingMessage, cap: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > cap) return Promise.resolve(null)
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = (v: Buffer | null) => {
      req.off('readable', onReadable)
      req.off('end', onEnd)
      req.off('error', onFail)
      req.off('close', onFail)
      resolve(v)
    }
    function onFail() {
      finish(null)
    }
    // Only an empty stream ends under us (every byte read is put back before 'end').
    function onEnd() {
      finish(Buffer.concat(chunks, size))
    }
    function onReadable() {
      let c: Buffer | null
      while ((c = req.read() as Buffer | null) !== null) {
        size += c.length
        // Over the cap: the request is refused with 413 and the rest is discarded.
        if (size > cap) return finish(null)
        chunks.push(c)
      }
      if (!req.complete) return
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
      if (size > 0) req.unshift(body)
      finish(body)
    }
    req.on('readable', onReadable)
    req.on('end', onEnd)
    req.on('error', onFail)
    req.on('close', onFail)
  })
}
