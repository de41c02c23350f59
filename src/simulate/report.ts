/**
 * What a simulation run reports: one row per scenario, and totals for people and for bots.
 * Filled by `tally.ts` and `simulate.ts`, printed by `format-report.ts`, read by the tests.
 * @see ../../docs/simulate.md#the-report
 */

/** People or bots. */
export type ClientKind = 'human' | 'bot'

/** One scenario's traffic and what became of it. */
export interface ScenarioReport {
  /** `credential-stuffing`, `office`… */
  readonly id: string
  readonly kind: ClientKind
  /** OWASP Automated Threat id (`OAT-008`), or another catalogue's; null for people. */
  readonly threat: string | null
  readonly title: string
  /** Simulated clients (an adaptive bot that changes IP is still one). */
  readonly clients: number
  /** Distinct client addresses the gateway was shown. */
  readonly ips: number
  /** Distinct browser header sets (fingerprints) the clients sent. */
  readonly profiles: number
  /** Requests sent, counting those cut off when the run ended. */
  readonly sent: number
  /** Requests the upstream received; null when the target cannot tell (an external URL). */
  readonly reachedUpstream: number | null
  /** 2xx answers that are real: from the upstream (in demo mode), not a gateway fake. */
  readonly successes: number
  /**
   * Requests the gateway answered itself instead of the upstream (demo mode: anything under 500
   * the upstream never saw, fakes included); for an external URL, answers 403 and 429.
   */
  readonly denied: number
  /** 1-based number (in sending order) of the first denied request; null if none was. */
  readonly firstDenialAt: number | null
  /** Network failures, 5xx answers and requests cut off at the end of the run. */
  readonly errors: number
  /** Answers by status (`0` for no answer). */
  readonly statuses: Readonly<Record<string, number>>
  /** End-to-end latency of answered requests, real milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly max: number }
  /**
   * Delay the gateway added on purpose (the `delay` action, tarpits), mean and max per request.
   * Null when the target cannot tell (an external URL).
   */
  readonly addedLatencyMs: { readonly mean: number; readonly max: number } | null
  /** Denials by deciding rule (`limits.login-per-account`); null when the target cannot tell. */
  readonly deniedBy: Readonly<Record<string, number>> | null
  /** What the scenario got done, in its own words: `0 of 50 products scraped`; null for people. */
  readonly achieved: string | null
}

/** Sums over every scenario of one kind. */
export interface KindTotals {
  readonly scenarios: number
  readonly sent: number
  readonly denied: number
  /** Scenarios with at least one denied request. */
  readonly scenariosDenied: number
}

/** The whole run: where, how long, how fast, and one row per scenario. */
export interface SimulationReport {
  /** `demo` runs the shop and a gateway in this process; `external` sends to a URL. */
  readonly mode: 'demo' | 'external'
  /** The gateway's base URL. */
  readonly target: string
  /** The gateway config (demo mode); null for an external target. */
  readonly config: string | null
  readonly seed: number
  /** Simulated time runs this many times faster than real time. */
  readonly speed: number
  /** The bots' header sets: older releases than people's, or people's own. */
  readonly botHeaders: 'older' | 'people'
  /** The bound given, real milliseconds. */
  readonly durationMs: number
  /** Real time the run took. */
  readonly elapsedMs: number
  readonly scenarios: readonly ScenarioReport[]
  readonly humans: KindTotals
  readonly bots: KindTotals
}
