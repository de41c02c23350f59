/**
 * A log record back as the request the gateway would have received: method, target, the
 * headers the log kept (User-Agent and Referer for nginx; none for Bulwark's log, which keeps
 * the computed facets instead) and the client IP as the socket address, so rules key on it.
 * Logs hold no bodies: the request has none.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RawRequest } from '../engine/context.js'
import type { RequestContext } from '../engine/types.js'
import type { LogRecord } from '../logs/record.js'

const NO_BODY = () => Promise.resolve(Buffer.alloc(0))

/** @example const { ctx } = engine.prepare(toRawRequest(record)) */
export function toRawRequest(r: LogRecord): RawRequest {
  const headers: IncomingHttpHeaders = { host: 'replay.invalid' }
  const rawHeaders = ['Host', 'replay.invalid']
  if (r.headers) {
    for (const [name, value] of Object.entries(r.headers)) {
      headers[name] = value
      rawHeaders.push(name, value)
    }
  } else if (r.userAgent !== undefined) {
    headers['user-agent'] = r.userAgent
    rawHeaders.push('user-agent', r.userAgent)
  }
  return {
    method: r.method,
    url: r.target,
    headers,
    rawHeaders,
    remoteAddress: r.ip,
    readBody: NO_BODY,
  }
}

/**
 * Puts the facets the live gateway computed (Bulwark logs: account, session, apiKey,
 * fingerprint) on the replayed request, where facet getters find them first — an account read
 * from a login body is known again without the body.
 *
 * A line with neither a fingerprint nor any header to make one from would get the fingerprint
 * of an empty request, the same for every client; the client IP stands in for it instead, and
 * this returns false so the replay can say so.
 */
export function restoreFacets(ctx: RequestContext, r: LogRecord): boolean {
  const f = r.facets
  const id = ctx.identity
  if (f !== undefined) {
    if (f.account !== undefined) id.account = f.account
    if (f.session !== undefined) id.session = f.session
    if (f.apiKey !== undefined) id.apiKey = f.apiKey
    if (f.fingerprint !== undefined) {
      id.fingerprint = f.fingerprint
      return true
    }
  }
  if (r.headers !== undefined || r.userAgent !== undefined) return true
  id.fingerprint = `ip:${id.ip}`
  return false
}
