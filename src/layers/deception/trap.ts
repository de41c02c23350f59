/**
 * A compiled trap — a honeypot route, a hidden field, a trap header or a canary — and the
 * verdict its hit becomes: `deceive` with the trap's fake answer, or `log` for a trap that only
 * flags (`answer: forward`). Flagging itself is the layer's job (layer.ts).
 */
import type { Verdict } from '../../engine/types.js'
import type { CompiledAnswer } from './answer.js'
import type { Random } from './random.js'

export type TrapKind = 'honeypot' | 'field' | 'header' | 'canary'

export interface Trap {
  readonly kind: TrapKind
  /** `deception.<id>`, `deception.field.<name>`, `deception.header.<name>`, `deception.canary.<name>`. */
  readonly rule: string
  readonly monitor: boolean
  readonly flagTtl: number
  /** The fake answer; undefined when the request goes on to the upstream (`answer: forward`). */
  readonly answer: CompiledAnswer | undefined
}

/**
 * @example
 * trapVerdict(trap, 'honeypot /.env', random, now) // { action: 'deceive', rule: 'deception.env', … }
 */
export function trapVerdict(trap: Trap, reason: string, random: Random, now: number): Verdict {
  const data = { trap: trap.kind, flagTtl: trap.flagTtl }
  const a = trap.answer
  if (!a) return { action: 'log', rule: trap.rule, reason, monitor: trap.monitor, data }
  // Body (and status, unless the trap sets one) made by the engine: see CompiledAnswer.shaped.
  if (a.shaped)
    return {
      action: 'deceive',
      rule: trap.rule,
      reason,
      monitor: trap.monitor,
      ...(a.explicitStatus !== undefined ? { status: a.explicitStatus } : {}),
      headers: a.extraHeaders,
      delayMs: a.delay(random),
      data,
    }
  return {
    action: 'deceive',
    rule: trap.rule,
    reason,
    monitor: trap.monitor,
    status: a.status,
    headers: a.headers,
    body: a.body(random, now),
    delayMs: a.delay(random),
    data,
  }
}
