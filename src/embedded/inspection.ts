/**
 * What `inspect()` returns: the engine's decision for one request, with every rule's verdict
 * and reason, already turned into what to do (the pure `toEffect`). Two kinds: `proceed` (let
 * the app answer, adding `headers`, after `delayMs`) and `answer` (send Bulwark's own answer).
 * The type guards narrow an {@link Inspection} by what happened.
 *
 * Owns: the Inspection shape and its guards. Calls engine/effect.ts. Called by
 * embedded/bulwark.ts; read by the adapters and by apps.
 * @see ../../docs/embedded.md#inspections
 */
import { toEffect } from '../engine/effect.js'
import type { Action, Decision, HeaderMap, RequestContext, Verdict } from '../engine/types.js'
import { corsHeadersOf } from '../layers/cors/answer-headers.js'

interface InspectionBase {
  /** The request id (the `x-request-id` of Bulwark's answers and of decision events). */
  readonly id: string
  /** The most severe enforced action, or `allow`. */
  readonly action: Action
  /** What a monitor-mode rule would have done, when that is more severe than `action`. */
  readonly wouldHave: Action | undefined
  /** Id of the rule that decided (`limits.login-per-account`), undefined for a plain allow. */
  readonly rule: string | undefined
  /** That rule's reason, for an operator (never send it to the client). */
  readonly reason: string | undefined
  /** Every rule's verdict, in layer order, monitor-mode ones included. */
  readonly rules: readonly Verdict[]
  readonly decision: Decision
  /** Wait this long before carrying the inspection out (a `delay` verdict or a tarpit). */
  readonly delayMs: number
  /** The canonical request the layers saw: path, route, identity, body. */
  readonly context: RequestContext
}

/**
 * The app answers the request. Add `headers` to its response: each replaces the app's header of
 * that name (a value of '' removes it), except `set-cookie` (Bulwark's device cookie), which is
 * added to the app's own cookies.
 */
export interface Proceed extends InspectionBase {
  readonly kind: 'proceed'
  readonly headers: HeaderMap
}

/** Bulwark answers the request itself: send `status`, `headers` and `body`; the app never sees it. */
export interface Answer extends InspectionBase {
  readonly kind: 'answer'
  readonly status: number
  /** Include `content-type` and `x-request-id`; add only `content-length`. */
  readonly headers: HeaderMap
  readonly body: string
}

/** The outcome of `inspect()`. Narrow it with `kind` or the guards below. */
export type Inspection = Proceed | Answer

/**
 * Builds the inspection for a decision. Pure.
 * @example
 * toInspection(ctx, combine([])).kind // 'proceed'
 */
export function toInspection(ctx: RequestContext, decision: Decision): Inspection {
  const effect = toEffect(decision, ctx.id, corsHeadersOf(ctx))
  const v = decision.decisive
  const base = {
    id: ctx.id,
    action: decision.action,
    wouldHave: decision.wouldHave,
    rule: v?.rule,
    reason: v?.reason,
    rules: decision.verdicts,
    decision,
    delayMs: effect.delayMs,
    context: ctx,
  }
  const cookie = ctx.deviceCookie
  if (effect.kind === 'forward') {
    // The device cookie goes with the app's own cookies (adapters append `set-cookie`).
    const headers =
      cookie === undefined ? effect.headers : { ...effect.headers, 'set-cookie': cookie }
    return { kind: 'proceed', ...base, headers }
  }
  // The proxy's own answers carry these two; an embedded answer must read the same.
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  for (const k in effect.headers) if (effect.headers[k] !== '') headers[k] = effect.headers[k]!
  headers['x-request-id'] = ctx.id
  if (cookie !== undefined) headers['set-cookie'] = cookie
  return { kind: 'answer', ...base, status: effect.status, headers, body: effect.body }
}

/** The app handles the request (possibly after `delayMs`, possibly with headers to add). */
export function isAllowed(r: Inspection): r is Proceed {
  return r.kind === 'proceed'
}

/** Bulwark answers instead of the app: a refusal, a fake, or an answer at the edge (preflight). */
export function isAnswered(r: Inspection): r is Answer {
  return r.kind === 'answer'
}

/**
 * The request is refused: blocked, rate limited or challenged (also when it was refused before
 * any rule ran, as an ambiguous path is).
 */
export function isDenied(r: Inspection): r is Answer {
  return (
    r.kind === 'answer' &&
    (r.action === 'block' || r.action === 'throttle' || r.action === 'challenge')
  )
}

/** A limit was exceeded (a `throttle` verdict, 429 by default). */
export function isRateLimited(r: Inspection): r is Answer {
  return r.kind === 'answer' && r.action === 'throttle'
}

/** A `block` verdict (403 by default; 400 for an ambiguous request, 413 for a body over the cap). */
export function isBlocked(r: Inspection): r is Answer {
  return r.kind === 'answer' && r.action === 'block'
}

/** A `challenge` verdict (401 by default: step-up authentication). */
export function isChallenged(r: Inspection): r is Answer {
  return r.kind === 'answer' && r.action === 'challenge'
}

/** A `deceive` verdict: the answer is a fake the app never produced. */
export function isDeceived(r: Inspection): r is Answer {
  return r.kind === 'answer' && r.action === 'deceive'
}

/** The answer, whoever gives it, must wait `delayMs` first. */
export function isDelayed(r: Inspection): boolean {
  return r.delayMs > 0
}
