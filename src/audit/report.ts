/**
 * The audit's result, as `bulwark audit --json` prints it and `suggestConfig` reads it.
 * @see ../../docs/audit-replay.md#audit
 */
import type { MalformedExample, SourceStats } from '../logs/scan.js'

/**
 * Requests per identity per active minute: each (identity, minute) with at least one request
 * is one sample. `p99: 12` means 99% of the minutes in which an identity used the endpoint, it
 * sent at most 12 requests.
 */
export interface RateSummary {
  readonly samples: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/** One method and route template seen in the logs. */
export interface EndpointReport {
  readonly method: string
  /** Route template: from the OpenAPI file when one matched, else the path with ids folded. */
  readonly template: string
  /** With an OpenAPI file: whether it documents this method and path. */
  readonly documented?: boolean
  /** A login-like route (POST to login, signin, token, session, password, otp…). */
  readonly auth: boolean
  readonly requests: number
  /** Distinct client IPs (estimated, ~3%). */
  readonly identities: number
  /** Responses by status code. */
  readonly statuses: Readonly<Record<string, number>>
  /** Per client IP. */
  readonly rate: RateSummary
  /** Auth routes, Bulwark logs: per account. */
  readonly accountRate?: RateSummary
  /** Auth routes: 401/403 answers per client IP. */
  readonly failedRate?: RateSummary
  /** The busiest client IPs; `approx` when the count may be over-estimated by up to `error`. */
  readonly top: readonly {
    readonly ip: string
    readonly requests: number
    readonly error: number
  }[]
  /** One path seen, as logged. */
  readonly example: string
}

/** Everything `bulwark audit` found. */
export interface AuditReport {
  readonly sources: readonly SourceStats[]
  readonly lines: number
  readonly records: number
  readonly malformed: number
  readonly skipped: number
  readonly malformedExamples: readonly MalformedExample[]
  /** Requests whose path the gateway would refuse as ambiguous (counted, not in endpoints). */
  readonly ambiguous: { readonly count: number; readonly examples: readonly string[] }
  /** ISO times of the first and last request. */
  readonly from?: string
  readonly to?: string
  /** Distinct client IPs over all endpoints (estimated). */
  readonly identities: number
  /** Per client IP over all endpoints. */
  readonly overall: RateSummary
  readonly endpoints: readonly EndpointReport[]
  /** With an OpenAPI file: endpoints seen in traffic that it does not document. */
  readonly undocumented?: readonly {
    readonly method: string
    readonly template: string
    readonly requests: number
    readonly example: string
  }[]
  /** With an OpenAPI file: documented operations never seen in traffic. */
  readonly unseen?: readonly { readonly method: string; readonly template: string }[]
  readonly openapi?: string
  /** Requests grouped under `(other)` because the endpoint table was full. */
  readonly overflow: number
  /** Rate counters closed early because too many identities were active at once. */
  readonly evicted: number
  readonly elapsedMs: number
}
