/**
 * Where a request's bearer token is read from: the `Authorization: Bearer` header (RFC 6750
 * §2.1) and, only when configured, one cookie. Anything a backend could read as a second,
 * unchecked token is refused instead: two Authorization headers (node keeps only the first in
 * `headers`, but forwards both), a token in the query string (§2.3), or a header and a cookie.
 */
import type { RequestContext } from '../../engine/types.js'

/** What a request carries: no bearer token, one token, or something to refuse with 400. */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** RFC 6750 `invalid_request`: answered 400. */
  | { readonly kind: 'invalid'; readonly reason: string }

const NONE: Credentials = Object.freeze({ kind: 'none' })

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. The scheme is case-insensitive (RFC 9110).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
// Anything else starting with the scheme (`Bearer\ttoken`, `Bearer a b`) is refused, not ignored:
// a lenient backend might read a token there that the gateway never checked.
const BEARER_SCHEME = /^bearer(?:\s|$)/i

/** Where else a token may come from (`auth.token`). */
export interface BearerOptions {
  /** Also accept the token from this cookie. */
  readonly cookie?: string
}

/**
 * Compiles the token extractor.
 * @example
 * const credentials = bearerReader({})
 * credentials(ctx) // { kind: 'token', token: 'eyJ…' }
 */
export function bearerReader(opts: BearerOptions): (ctx: RequestContext) => Credentials {
  const cookieName = opts.cookie
  return function bearer(ctx) {
    let header: string | undefined
    const raw = ctx.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue
      if (header !== undefined) return invalid('more than one Authorization header')
      header = raw[i + 1]!
    }
    if (ctx.query !== '' && new URLSearchParams(ctx.query).has('access_token'))
      return invalid('a token in the query string is not accepted')
    let token: string | undefined
    if (header !== undefined) {
      const m = BEARER.exec(header)
      if (m) token = m[1]!
      else if (BEARER_SCHEME.test(header.trimStart()))
        return invalid('malformed Bearer credentials')
      // Another scheme (Basic…) is not a bearer token: the request is as if it had none.
    }
    if (cookieName !== undefined) {
      const c = cookieValue(ctx.headers.cookie, cookieName)
      if (c === null) return invalid(`cookie ${cookieName} given more than once`)
      if (c !== undefined) {
        if (token !== undefined) return invalid('a token in both the header and a cookie')
        token = c
      }
    }
    return token === undefined ? NONE : { kind: 'token', token }
  }
}

function invalid(reason: string): Credentials {
  return { kind: 'invalid', reason }
}

/** The cookie's value; null when it is given twice (which one would the backend read?). */
function cookieValue(header: string | undefined, name: string): string | undefined | null {
  if (!header) return undefined
  let found: string | undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue
    if (found !== undefined) return null
    found = pair.slice(eq + 1).trim()
  }
  return found === '' ? undefined : found
}
