/**
 * The structured event of one decision: what the log writes, the dashboard shows and replay
 * reads. One shape everywhere.
 */
import type { Action, Decision, Identity, Outcome, RequestContext } from '../engine/types.js'

export interface DecisionEvent {
  readonly requestId: string
  readonly receivedAt: number
  readonly method: string
  readonly path: string
  readonly route: string
  readonly client: Identity
  readonly action: Action
  readonly wouldHave?: Action
  readonly mode: 'enforce' | 'monitor'
  readonly status: number
  readonly ms: number
  readonly reasons: readonly {
    readonly rule: string
    readonly action: Action
    readonly reason: string
    readonly monitor: boolean
    readonly data?: Readonly<Record<string, unknown>>
  }[]
  readonly rules: readonly string[]
}

export function toEvent(ctx: RequestContext, decision: Decision, outcome: Outcome): DecisionEvent {
  const reasons = []
  for (const v of decision.verdicts)
    if (v.quiet !== true)
      reasons.push({
        rule: v.rule,
        action: v.action,
        reason: v.reason,
        monitor: v.monitor,
        ...(v.data ? { data: v.data } : {}),
      })
  return {
    requestId: ctx.id,
    receivedAt: ctx.receivedAt,
    method: ctx.method,
    path: ctx.path,
    route: ctx.route.template,
    client: ctx.identity,
    action: decision.action,
    ...(decision.wouldHave ? { wouldHave: decision.wouldHave } : {}),
    mode:
      decision.verdicts.length > 0 && decision.verdicts.every((v) => v.monitor)
        ? 'monitor'
        : 'enforce',
    status: outcome.status,
    ms: outcome.ms,
    reasons,
    rules: reasons.map((r) => r.rule),
  }
}
