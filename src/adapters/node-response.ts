/**
 * Carrying out an {@link Inspection} on a node:http response, shared by the node-http and
 * Express adapters: send Bulwark's answer, or let the app answer and, when its response head
 * goes out, add the inspection's headers and observe its status.
 *
 * The head is where the proxy observes too (`Outcome.ms` runs to the response head), and the
 * one moment both the status and the headers are settled but not yet sent, so `writeHead` is
 * wrapped for that one call (the `on-headers` technique Express's own middleware uses).
 *
 * Owns: writing to a ServerResponse. Called by adapters/node-http.ts and adapters/express.ts.
 * @see ../../docs/embedded.md#adapters
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Bulwark } from '../embedded/bulwark.js'
import type { Answer, Inspection, Proceed } from '../embedded/inspection.js'

/**
 * Sends Bulwark's own answer and observes it. A delayed answer (a fake, chaos) waits in the
 * tarpit under its caps; when the tarpit is full the connection is closed (`overflow: close`)
 * or a plain 429 goes out at once — as the proxy does.
 */
export function sendAnswer(
  bulwark: Bulwark,
  req: IncomingMessage,
  res: ServerResponse,
  r: Answer,
): void {
  const send = (a: Answer) => {
    if (res.headersSent) {
      res.destroy()
      return bulwark.observe(a, 0)
    }
    res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) })
    res.end(a.body)
    // Unread body bytes are discarded (as the proxy does), so the connection can be reused.
    if (!req.complete) req.resume()
    bulwark.observe(a, a.status)
  }
  if (r.delayMs <= 0) return send(r)
  const onClose = () => {
    release?.()
    bulwark.observe(r, 0)
  }
  const release = bulwark.hold(r, () => {
    res.off('close', onClose)
    if (res.destroyed) return bulwark.observe(r, 0)
    send(r)
  })
  if (release) {
    res.once('close', onClose)
    return
  }
  if (bulwark.tarpit.options.overflow === 'close') {
    req.socket?.destroy()
    return bulwark.observe(r, 0)
  }
  send(bulwark.overflow(r))
}

/**
 * Lets the app answer: arranges for the inspection's headers and the observation at the
 * app's response head, then calls `next` (after the inspection's delay).
 */
export function proceed(bulwark: Bulwark, res: ServerResponse, r: Proceed, next: () => void): void {
  atResponseHead(bulwark, res, r)
  after(r.delayMs, res, bulwark, r, next)
}

/** Runs `fn` now, or after `ms` unless the client left meanwhile (then observes 0). */
function after(ms: number, res: ServerResponse, bulwark: Bulwark, r: Inspection, fn: () => void) {
  if (ms <= 0) return fn()
  const t = setTimeout(() => {
    res.off('close', onClose)
    if (res.destroyed) return bulwark.observe(r, 0)
    fn()
  }, ms)
  const onClose = () => {
    clearTimeout(t)
    bulwark.observe(r, 0)
  }
  res.once('close', onClose)
}

type WriteHead = ServerResponse['writeHead']

/**
 * When the app's response head is written: adds the inspection's headers (replacing the app's of
 * the same name; '' removes), adds `x-request-id` unless the app set one, observes the status.
 * A client that leaves before any answer is observed with status 0.
 */
export function atResponseHead(bulwark: Bulwark, res: ServerResponse, r: Proceed): void {
  const writeHead = res.writeHead
  const add = r.headers
  let names: Set<string> | undefined
  for (const k in add) if (k !== 'set-cookie') (names ??= new Set()).add(k)
  const onClose = () => bulwark.observe(r, res.headersSent ? res.statusCode : 0)
  res.once('close', onClose)
  res.writeHead = function bulwarkWriteHead(
    this: ServerResponse,
    status: number,
    reason?: string | OutgoingHttpHeaders | readonly string[],
    headers?: OutgoingHttpHeaders | readonly string[],
  ) {
    res.writeHead = writeHead
    res.off('close', onClose)
    let h = typeof reason === 'string' ? headers : reason
    // Bulwark's headers replace the app's of the same name; '' removes the app's.
    if (names && h) h = without(h, names)
    for (const k in add) {
      if (k === 'set-cookie') {
        // Added to the app's cookies, whether it set them before or passes them here.
        if (h && has(h, 'set-cookie')) h = withCookiesSet(res, h)
        res.appendHeader('set-cookie', add[k]!)
      } else if (add[k] === '') res.removeHeader(k)
      else res.setHeader(k, add[k]!)
    }
    if (!res.hasHeader('x-request-id') && !has(h, 'x-request-id'))
      res.setHeader('x-request-id', r.id)
    bulwark.observe(r, status)
    const args = (
      typeof reason === 'string' ? [status, reason, h] : [status, h]
    ) as Parameters<WriteHead>
    return writeHead.apply(this, args)
  } as WriteHead
}

/** Moves the `set-cookie` headers of a writeHead argument onto `res` (appended), returns the rest. */
function withCookiesSet(
  res: ServerResponse,
  h: OutgoingHttpHeaders | readonly string[],
): OutgoingHttpHeaders | string[] {
  const cookies: string[] = []
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2)
      if (String(h[i]).toLowerCase() === 'set-cookie') cookies.push(String(h[i + 1]))
  } else {
    for (const [k, v] of Object.entries(h as OutgoingHttpHeaders))
      if (k.toLowerCase() === 'set-cookie' && v !== undefined)
        cookies.push(...(Array.isArray(v) ? v.map(String) : [String(v)]))
  }
  for (const c of cookies) res.appendHeader('set-cookie', c)
  return without(h, SET_COOKIE)
}

const SET_COOKIE: ReadonlySet<string> = new Set(['set-cookie'])

function without(
  h: OutgoingHttpHeaders | readonly string[],
  names: ReadonlySet<string>,
): OutgoingHttpHeaders | string[] {
  if (Array.isArray(h)) {
    const out: string[] = []
    for (let i = 0; i < h.length; i += 2)
      if (!names.has(String(h[i]).toLowerCase())) out.push(h[i] as string, h[i + 1] as string)
    return out
  }
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(h)) if (!names.has(k.toLowerCase())) out[k] = v
  return out
}

function has(h: OutgoingHttpHeaders | readonly string[] | undefined, name: string): boolean {
  if (!h) return false
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2) if (String(h[i]).toLowerCase() === name) return true
    return false
  }
  for (const k in h) if (k.toLowerCase() === name) return true
  return false
}
