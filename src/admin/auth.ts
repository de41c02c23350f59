/**
 * Who may use the admin listener. With a token: a request carries `Authorization: Bearer
 * <token>` (Prometheus, scripts) or the session cookie the dashboard gets by posting the token
 * to `/api/session` (EventSource cannot send headers). Without a token the listener is bound to
 * loopback (config refuses anything else), and the Host header must name loopback too, so a
 * web page cannot reach it through DNS rebinding. Cookie-authenticated writes must come from
 * the dashboard's own origin.
 *
 * Called by admin.ts for every request. Owns the session-signing secret (per process).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isLoopback } from './loopback.js'

export const SESSION_COOKIE = 'bulwark_admin'
/** How long a dashboard session lasts. */
export const SESSION_MS = 12 * 3_600_000

/**
 * Constant-time token comparison: both sides are hashed first, so the buffers compared have
 * equal lengths and the comparison leaks neither the token nor its length.
 * @example tokenMatches(given, config.admin.token)
 */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * Signed, expiring session cookies (`<expiry>.<hmac>`); the secret is made per process and per
 * token, so a restart or a new token ends every session.
 */
export class Sessions {
  readonly #secret: Buffer

  constructor(token: string) {
    this.#secret = createHmac('sha256', randomBytes(32)).update(token).digest()
  }

  issue(now: number): string {
    const exp = String(now + SESSION_MS)
    return `${exp}.${this.#sign(exp)}`
  }

  valid(cookie: string, now: number): boolean {
    const dot = cookie.indexOf('.')
    if (dot < 0) return false
    const exp = cookie.slice(0, dot)
    if (!(Number(exp) > now)) return false
    const given = Buffer.from(cookie.slice(dot + 1))
    const want = Buffer.from(this.#sign(exp))
    return given.length === want.length && timingSafeEqual(given, want)
  }

  #sign(exp: string): string {
    return createHmac('sha256', this.#secret).update(exp).digest('base64url')
  }
}

export type AuthResult =
  | { readonly ok: true; readonly via: 'none' | 'bearer' | 'cookie' }
  | { readonly ok: false; readonly status: 401 | 403; readonly error: string }

/** Decides whether `req` may use the admin endpoints. */
export function authorize(
  req: IncomingMessage,
  token: string | undefined,
  sessions: Sessions | undefined,
  now: number,
): AuthResult {
  const unsafe = req.method !== 'GET' && req.method !== 'HEAD'
  if (!token) {
    if (!isLoopback(hostName(req.headers.host ?? '')))
      return { ok: false, status: 403, error: 'the admin listener answers only to a loopback Host' }
    if (unsafe && !sameOrigin(req))
      return { ok: false, status: 403, error: 'cross-origin request refused' }
    return { ok: true, via: 'none' }
  }
  const header = req.headers.authorization
  if (header !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(header)
    if (m && tokenMatches(m[1]!.trim(), token)) return { ok: true, via: 'bearer' }
    return { ok: false, status: 401, error: 'invalid bearer token' }
  }
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE)
  if (cookie !== undefined && sessions?.valid(cookie, now)) {
    if (unsafe && !sameOrigin(req))
      return { ok: false, status: 403, error: 'cross-origin request refused' }
    return { ok: true, via: 'cookie' }
  }
  return { ok: false, status: 401, error: 'authentication required' }
}

/** The `Set-Cookie` value of a session (or of its removal, with `value` undefined). */
export function sessionCookie(value: string | undefined): string {
  const attrs = 'Path=/; HttpOnly; SameSite=Strict'
  return value === undefined
    ? `${SESSION_COOKIE}=; ${attrs}; Max-Age=0`
    : `${SESSION_COOKIE}=${value}; ${attrs}; Max-Age=${SESSION_MS / 1000}`
}

/** An Origin header, when sent, must name the host the request was sent to. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

function hostName(host: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host)
  return m ? m[1]! : host
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}
