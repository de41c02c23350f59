/**
 * `toEffect` is the only code that shapes the gateway's own answers: it turns a Decision into
 * what the proxy or an adapter must do. Pure: no sockets, no clock.
 */
import { STATUS_CODES } from 'node:http'
import type { Action, Decision, Effect, HeaderMap } from './types.js'

const DEFAULT_STATUS: Readonly<Record<Action, number>> = {
  allow: 200,
  log: 200,
  delay: 200,
  throttle: 429,
  challenge: 401,
  deceive: 200,
  block: 403,
}

/** The shared empty header map: compare by identity to skip work for "no headers". */
export const NO_HEADERS: HeaderMap = Object.freeze({})
const FORWARD: Effect = Object.freeze({ kind: 'forward', delayMs: 0, headers: NO_HEADERS })

/**
 * `cors`: the CORS headers chosen for the request (an allowed origin's), added to the gateway's
 * own answers — a page may read why it was refused (a 429, a puzzle), and a fake looks like the
 * backend's answers, which carry them too.
 * @example
 * toEffect(combine([]), 'req-1') // { kind: 'forward', delayMs: 0, headers: {} }
 */
export function toEffect(decision: Decision, requestId: string, cors?: HeaderMap): Effect {
  const v = decision.decisive
  if (!v) return FORWARD
  switch (decision.action) {
    case 'allow':
    case 'log':
    case 'delay':
      // An enforced allow verdict with a status answers at the edge (a CORS preflight), even
      // when another layer only logged.
      for (const a of decision.verdicts) {
        if (a.monitor || a.action !== 'allow' || a.status === undefined) continue
        return {
          kind: 'respond',
          delayMs: 0,
          status: a.status,
          headers: a.headers ?? NO_HEADERS,
          body: a.body ?? '',
        }
      }
      return {
        kind: 'forward',
        delayMs: decision.action === 'delay' ? (v.delayMs ?? 0) : 0,
        headers: forwardHeaders(decision),
      }
    default: {
      const status = v.status ?? DEFAULT_STATUS[decision.action]
      if (v.body !== undefined) {
        return {
          kind: 'respond',
          delayMs: v.delayMs ?? 0,
          status,
          headers: cors ? { ...cors, ...v.headers } : (v.headers ?? NO_HEADERS),
          body: v.body,
        }
      }
      return {
        kind: 'respond',
        delayMs: v.delayMs ?? 0,
        status,
        headers: { 'content-type': 'application/json', ...cors, ...v.headers },
        body: errorBody(status, requestId),
      }
    }
  }
}

/**
 * Headers every enforced verdict adds to a forwarded response (RateLimit, CORS), merged in
 * layer order. A value of '' removes the upstream's header of that name.
 */
function forwardHeaders(decision: Decision): HeaderMap {
  let out: HeaderMap | undefined
  let merged: Record<string, string> | undefined
  for (const v of decision.verdicts) {
    if (v.monitor || !v.headers) continue
    // One verdict's headers are used as they are (read only); a copy only to merge several.
    if (out === undefined) out = v.headers
    else out = merged = Object.assign(merged ?? { ...out }, v.headers)
  }
  return out ?? NO_HEADERS
}

/**
 * The gateway's own error body: the status text and the request id, nothing about the rule —
 * a bot learns nothing from it that the status did not already say.
 */
export function errorBody(status: number, requestId: string): string {
  return `{"error":${JSON.stringify(STATUS_CODES[status] ?? 'Error')},"status":${status},"requestId":${JSON.stringify(requestId)}}`
}
