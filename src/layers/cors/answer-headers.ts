/**
 * The CORS headers the `cors` layer chose for one request, kept on the request so that answers
 * another layer shapes itself (the contract's 400 problem) carry them too: a browser app from an
 * allowed origin can then read why its request was refused.
 * @see ../../../docs/contract.md#cors
 */
import type { HeaderMap, RequestContext } from '../../engine/types.js'

const KEY = 'cors.headers'
const PREFLIGHT = 'cors.preflight'

/** Remembers the CORS headers for this request's answers (called by the cors layer). */
export function setCorsHeaders(ctx: RequestContext, headers: HeaderMap): void {
  ctx.locals.set(KEY, headers)
}

/**
 * The CORS headers for this request's answer, or undefined when the request is not a CORS request
 * from an allowed origin.
 * @example
 * headers: { 'content-type': 'application/problem+json', ...corsHeadersOf(ctx) }
 */
export function corsHeadersOf(ctx: RequestContext): HeaderMap | undefined {
  return ctx.local(KEY) as HeaderMap | undefined
}

/** Records that the cors layer itself answers this request as an allowed preflight (enforced). */
export function setPreflightAnswered(ctx: RequestContext): void {
  ctx.locals.set(PREFLIGHT, true)
}

/**
 * True when the cors layer answers this request at the edge as an allowed CORS preflight. Such a
 * request never reaches the backend, and browsers send preflights without credentials (Fetch
 * standard), so credential checks (the `auth` layer) must not refuse it.
 */
export function preflightAnswered(ctx: RequestContext): boolean {
  return ctx.local(PREFLIGHT) === true
}
