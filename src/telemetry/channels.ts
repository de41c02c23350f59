/**
 * Telemetry is published once per request on a diagnostics channel; the log, metrics and the
 * dashboard subscribe. Publishing costs next to nothing while nobody listens.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import type { Decision, Outcome, RequestContext } from '../engine/types.js'

export interface DecisionMessage {
  readonly ctx: RequestContext
  readonly decision: Decision
  readonly outcome: Outcome
}

/** One message per request, after its answer, carrying the decision and the outcome. */
export const decisionChannel = diagnostics_channel.channel('bulwark:decision')

/** Things the gateway itself noticed: malformed connections, reloads, store failures. */
export interface NoticeMessage {
  readonly kind: string
  readonly level: 'info' | 'warn' | 'error'
  readonly msg: string
  readonly [k: string]: unknown
}
export const noticeChannel = diagnostics_channel.channel('bulwark:notice')

export function notice(n: NoticeMessage): void {
  if (noticeChannel.hasSubscribers) noticeChannel.publish(n)
}

/** The engine's `onError` for the proxy and embedded mode: a layer failed (and failed closed). */
export function layerErrorNotice(err: unknown, where: string, ctx?: RequestContext): void {
  notice({
    kind: 'layer-error',
    level: 'error',
    msg: `layer failed in ${where}; failing closed`,
    err: String((err as Error)?.stack ?? err),
    requestId: ctx?.id,
  })
}

/** What compiling a config found suspicious but allowed (`Engine.warnings`), one notice each. */
export function configWarningNotices(warnings: readonly string[]): void {
  for (const msg of warnings) notice({ kind: 'config-warning', level: 'warn', msg })
}
