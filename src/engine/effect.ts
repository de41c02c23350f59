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

const NO_HEADERS: HeaderMap = Object.freeze({})
const FORWARD: Effect = Object.freeze({ kind: 'forward', delayMs: 0, headers: NO_HEADERS })

/**
 * @example
 * toEffect(combine([]), 'req-1') // { kind: 'forward', delayMs: 0, headers: {} }
 */
export function toEffect(decision: Decision, requestId: string): Effect {
  const v = decision.decisive
  if (!v) return FORWARD
  switch (decision.action) {
    case 'allow':
    case 'log':
      return v.headers ? { kind: 'forward', delayMs: 0, headers: v.headers } : FORWARD
    case 'delay':
      return { kind: 'forward', delayMs: v.delayMs ?? 0, headers: v.headers ?? NO_HEADERS }
    default: {
      const status = v.status ?? DEFAULT_STATUS[decision.action]
      if (v.body !== undefined) {
        return {
          kind: 'respond',
          delayMs: v.delayMs ?? 0,
          status,
          headers: v.headers ?? NO_HEADERS,
          body: v.body,
        }
      }
      return {
        kind: 'respond',
        delayMs: v.delayMs ?? 0,
        status,
        headers: { 'content-type': 'application/json', ...v.headers },
        body: errorBody(status, requestId),
      }
    }
  }
}

/**
 * The gateway's own error body: the status text and the request id, nothing about the rule —
 * a bot learns nothing from it that the status did not already say.
 */
export function errorBody(status: number, requestId: string): string {
  return `{"error":${JSON.stringify(STATUS_CODES[status] ?? 'Error')},"status":${status},"requestId":${JSON.stringify(requestId)}}`
}
