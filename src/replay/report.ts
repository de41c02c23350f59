/**
 * The replay's result, as `bulwark replay --json` prints it.
 * @see ../../docs/audit-replay.md#replay
 */
import type { Action } from '../engine/types.js'
import type { MalformedExample, SourceStats } from '../logs/scan.js'

/** A log line a rule had something to say about. */
export interface ReplayExample {
  readonly source: string
  readonly lineNo: number
  /** The verdict's reason: `account "alice": 6 requests > 5 per 60s`. */
  readonly reason: string
  /** The log line. */
  readonly text: string
}

/** What one rule would have done. */
export interface RuleReport {
  /** `limits.login-per-account`, `request.ambiguous`. */
  readonly rule: string
  /** Requests it gave a verdict other than allow. */
  readonly count: number
  readonly actions: Partial<Record<Action, number>>
  /** True for request-safety refusals, which the gateway enforces even in monitor mode. */
  readonly enforced: boolean
  /** Distinct identities it hit (estimated). */
  readonly identities: number
  readonly examples: readonly ReplayExample[]
}

/** One identity the rules hit. */
export interface IdentityReport {
  /** As the rule keyed it: `account "alice"`, `ip "203.0.113.9", route "/api/*"`; else `ip "…"`. */
  readonly identity: string
  /** Verdicts other than allow (may be over-estimated by up to `error`). */
  readonly count: number
  readonly error: number
  readonly rules: readonly string[]
  /** Client IPs it came from (at most 20 are counted). */
  readonly ips: number
}

/** Everything `bulwark replay` found. */
export interface ReplayReport {
  readonly config: string
  readonly sources: readonly SourceStats[]
  readonly lines: number
  readonly records: number
  readonly malformed: number
  readonly skipped: number
  readonly malformedExamples: readonly MalformedExample[]
  readonly from?: string
  readonly to?: string
  /** Requests by what would have happened to them: the most severe verdict, enforced or not. */
  readonly actions: Readonly<Record<Action, number>>
  /** Rules that had something to say, busiest first. */
  readonly rules: readonly RuleReport[]
  /** Identities most often hit, busiest first. */
  readonly identities: readonly IdentityReport[]
  /** What the logs cannot show the config (bodies, headers), per rule. */
  readonly warnings: readonly string[]
  /** Layer failures during the replay (each request failed closed). */
  readonly errors: number
  readonly firstError?: string
  readonly elapsedMs: number
}
