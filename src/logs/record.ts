/**
 * One request read from a log, whatever the log's format: what `bulwark audit` aggregates and
 * `bulwark replay` turns back into a request. Made by `parseLine`; read by src/audit and
 * src/replay.
 * @see ../../docs/audit-replay.md#log-formats
 */
import type { Action } from '../engine/types.js'

/** The formats `parseLine` recognises, line by line. */
export type LogFormat = 'bulwark' | 'nginx'

/**
 * Identity facets the gateway had computed when it wrote the line (Bulwark events only). Replay
 * reuses them, since the body and most headers they came from are not in the log.
 */
export interface LogFacets {
  readonly account?: string
  readonly session?: string
  readonly apiKey?: string
  readonly fingerprint?: string
}

/** One request, normalised from any log format. */
export interface LogRecord {
  readonly format: LogFormat
  /** Epoch milliseconds of the request's arrival (nginx: the time the line was written). */
  readonly time: number
  /** The client IP (Bulwark: after trusted-proxy resolution; nginx: `$remote_addr`). */
  readonly ip: string
  /** Upper case: `GET`. */
  readonly method: string
  /** Origin-form request target: `/api/products/7?x=1` (Bulwark logs the path only). */
  readonly target: string
  readonly status: number
  readonly userAgent?: string
  /** Request headers the log carried, lower-case names (nginx: user-agent, referer). */
  readonly headers?: Readonly<Record<string, string>>
  /** Bulwark: the route template the gateway matched. */
  readonly route?: string
  readonly facets?: LogFacets
  /** Bulwark: what the gateway did with the request. */
  readonly action?: Action
  /** Where the line came from, for examples: file name (`-` for stdin) and 1-based line number. */
  readonly source: string
  readonly lineNo: number
  /** The line as read. */
  readonly text: string
}

/** A line that is not a request: `skip` (a valid line of another kind) or `malformed`. */
export interface LineMiss {
  readonly miss: 'skip' | 'malformed'
  readonly why: string
}

/** True when `parseLine` gave a record rather than a miss. */
export function isRecord(r: LogRecord | LineMiss): r is LogRecord {
  return (r as LineMiss).miss === undefined
}
