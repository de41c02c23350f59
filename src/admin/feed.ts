/**
 * The admin listener's subscriber to the telemetry channels: counts every decision for the
 * charts, keeps recent events, pushes them to the live feed, and indexes flag notices. Plain
 * allows (no verdict other than allow) cost a few array writes; only a sample becomes an event.
 *
 * Called by the `bulwark:decision` and `bulwark:notice` channels; owns nothing but the
 * subscription. Writes to the Traffic, RecentEvents, FlagIndex and EventStream it is given.
 */
import type { Decision } from '../engine/types.js'
import {
  decisionChannel,
  noticeChannel,
  type DecisionMessage,
  type NoticeMessage,
} from '../telemetry/channels.js'
import { toEvent } from '../telemetry/event.js'
import type { RecentEvents } from '../telemetry/recent.js'
import type { FlagIndex } from './flags.js'
import type { EventStream } from './sse.js'
import type { Traffic } from './traffic.js'

export interface FeedParts {
  readonly traffic: Traffic
  readonly recent: RecentEvents
  readonly stream: EventStream
  readonly flags: FlagIndex
  readonly now: () => number
}

/**
 * Subscribes; returns the unsubscribe function.
 * @example
 * const stop = subscribeFeed({ traffic, recent, stream, flags, now: Date.now })
 */
export function subscribeFeed(p: FeedParts): () => void {
  const { traffic, recent, stream, flags, now } = p
  const onDecision = function feedOnDecision(m: unknown) {
    const { ctx, decision, outcome } = m as DecisionMessage
    const plain = isPlain(decision)
    // When it was answered, on the gateway's clock (no clock read per request).
    const t = ctx.receivedAt + outcome.ms
    if (plain) traffic.record(t, ctx.route.template, decision.action, NONE)
    else traffic.record(t, ctx.route.template, decision.action, rulesOf(decision), traps(decision))
    if (plain && !recent.sampleAllow(t)) return
    const event = toEvent(ctx, decision, outcome)
    // The identity object lives on with the request's context: keep a copy as it is now.
    const kept = recent.add({ ...event, client: { ...event.client } })
    stream.send('decision', kept, { id: kept.seq, allowedOnly: plain })
  }
  const onNotice = function feedOnNotice(m: unknown) {
    const n = m as NoticeMessage
    if (n.kind === 'flag') flags.noted(n, now())
    if (n.level !== 'info' || n.kind === 'flag' || n.kind === 'unblock')
      stream.send('notice', { ...n, at: now() })
  }
  decisionChannel.subscribe(onDecision)
  noticeChannel.subscribe(onNotice)
  return () => {
    decisionChannel.unsubscribe(onDecision)
    noticeChannel.unsubscribe(onNotice)
  }
}

const NONE: readonly string[] = []

/** An allow no rule objected to (allow verdicts, like CORS or RateLimit headers, are not news). */
function isPlain(d: Decision): boolean {
  if (d.action !== 'allow' || d.wouldHave !== undefined) return false
  for (const v of d.verdicts) if (v.action !== 'allow') return false
  return true
}

/** Trap hits (honeypot routes, hidden fields, trap headers, canaries): verdicts naming a `trap`. */
function traps(d: Decision): number {
  let n = 0
  for (const v of d.verdicts) if (typeof v.data?.trap === 'string') n++
  return n
}

/** Rules that objected: every verdict other than an allow, monitor-mode ones included. */
function rulesOf(d: Decision): string[] {
  const out: string[] = []
  for (const v of d.verdicts) if (v.action !== 'allow') out.push(v.rule)
  return out
}
