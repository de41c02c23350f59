/**
 * `bulwark audit`'s engine: aggregates log records into per-endpoint statistics in bounded
 * memory — request and status counts, distinct IPs (HyperLogLog), busiest IPs (Space-Saving),
 * per-identity rates per minute (fixed histograms fed by a capped table of open minutes).
 * Endpoints are the OpenAPI file's templates when given, else paths with ids folded.
 * Called by src/cli/audit.ts; the report feeds `formatAudit` and `suggestConfig`.
 * @see ../../docs/audit-replay.md#audit
 */
import { canonicalPath } from '../request/path.js'
import { copy, scanLogs, type ScanOptions, type ScanStats } from '../logs/scan.js'
import { detach } from '../logs/detach.js'
import type { LogRecord } from '../logs/record.js'
import { DistinctCounter } from './distinct.js'
import { foldPath } from './fold.js'
import { Histogram } from './histogram.js'
import type { ApiSpec } from './openapi.js'
import { RateTracker } from './rate-tracker.js'
import type { AuditReport, EndpointReport, RateSummary } from './report.js'
import { TopK } from './top-k.js'

/** Options of {@link createAudit}; the caps keep memory bounded. */
export interface AuditOptions {
  /** Templates and documented operations; traffic outside it is reported as undocumented. */
  readonly api?: ApiSpec
  /** Most endpoints tracked; later ones are counted under `(other)` (default 2000). */
  readonly maxEndpoints?: number
  /** Most (endpoint, identity) minutes open at once (default 100,000, ~15 MB). */
  readonly maxActive?: number
  /** Busiest IPs listed per endpoint (default 5). */
  readonly top?: number
}

interface Endpoint {
  readonly method: string
  readonly template: string
  readonly documented: boolean | undefined
  readonly auth: boolean
  requests: number
  readonly statuses: Map<number, number>
  readonly ips: DistinctCounter
  readonly top: TopK
  readonly ipRate: Histogram
  readonly accountRate: Histogram | undefined
  readonly failedRate: Histogram | undefined
  readonly example: string
}

/** A route is login-like when a POST goes to a segment that names authentication. */
const AUTH =
  /(^|\/)(login|log-in|logon|signin|sign-in|sign_in|authenticate|auth|token|oauth|session|sessions|password|passwords|password-reset|reset-password|otp|mfa|2fa|verify)(\/|$)/i
const OTHER = '(other)'

/** True for a POST to a login-like route: its limits should also key on the account. */
export function isAuthRoute(method: string, template: string): boolean {
  return method === 'POST' && AUTH.test(template)
}

/**
 * @example
 * const audit = createAudit({ api })
 * const stats = await scanLogs(files, (r) => audit.add(r))
 * const report = audit.report(stats)
 */
export function createAudit(opts: AuditOptions = {}) {
  const api = opts.api
  const maxEndpoints = opts.maxEndpoints ?? 2000
  const topN = opts.top ?? 5
  const tracker = new RateTracker(opts.maxActive ?? 100_000)
  /** method → template → stats. */
  const endpoints = new Map<string, Map<string, Endpoint>>()
  let count = 0
  const overall = new Histogram()
  const allIps = new DistinctCounter()
  const ambiguous: string[] = []
  let ambiguousCount = 0
  let overflow = 0

  function endpoint(method: string, key: string, example: string): Endpoint {
    const match = api?.match(method, key)
    const template = match ? match.template : foldPath(key)
    const e = endpoints.get(method)?.get(template)
    if (e !== undefined) return e
    if (count >= maxEndpoints) return other(method, example)
    count++
    const documented = api ? (match?.documented ?? false) : undefined
    const fresh = makeEndpoint(method, detach(template), documented, example)
    let byTemplate = endpoints.get(method)
    if (byTemplate === undefined) endpoints.set(fresh.method, (byTemplate = new Map()))
    byTemplate.set(fresh.template, fresh)
    return fresh
  }

  /** The table is full: `(other)` of the method, or of `(other)` methods for one not seen yet. */
  function other(method: string, example: string): Endpoint {
    overflow++
    const m = endpoints.has(method) ? method : OTHER
    let byTemplate = endpoints.get(m)
    if (byTemplate === undefined) endpoints.set(m, (byTemplate = new Map()))
    let e = byTemplate.get(OTHER)
    if (e === undefined) byTemplate.set(OTHER, (e = makeEndpoint(m, OTHER, undefined, example)))
    return e
  }

  function add(r: LogRecord): void {
    const canon = canonicalPath(r.target, 'insensitive')
    if (!canon.ok || canon.flags !== 0) {
      ambiguousCount++
      if (ambiguous.length < 5) ambiguous.push(copy(`${r.method} ${r.target}`, 200))
      return
    }
    const e = endpoint(r.method, canon.key, r.target)
    e.requests++
    e.statuses.set(r.status, (e.statuses.get(r.status) ?? 0) + 1)
    e.ips.add(r.ip)
    e.top.add(r.ip)
    allIps.add(r.ip)
    const minute = Math.floor(r.time / 60_000)
    tracker.add(r.ip, minute, e.ipRate, overall)
    if (e.auth) {
      const account = r.facets?.account
      if (account !== undefined) tracker.add(`\u0000${account}`, minute, e.accountRate!)
      if (r.status === 401 || r.status === 403) tracker.add(r.ip, minute, e.failedRate!)
    }
  }

  function report(stats: ScanStats): AuditReport {
    tracker.flush()
    const list = [...endpoints.values()]
      .flatMap((m) => [...m.values()])
      .sort((a, b) => cmp(a.template, b.template) || cmp(a.method, b.method))
    const eps: EndpointReport[] = list.map((e) => ({
      method: e.method,
      template: e.template,
      ...(e.documented !== undefined ? { documented: e.documented } : {}),
      auth: e.auth,
      requests: e.requests,
      identities: e.ips.estimate(),
      statuses: Object.fromEntries([...e.statuses].sort((a, b) => a[0] - b[0])),
      rate: summary(e.ipRate),
      ...(e.accountRate && e.accountRate.count > 0 ? { accountRate: summary(e.accountRate) } : {}),
      ...(e.failedRate && e.failedRate.count > 0 ? { failedRate: summary(e.failedRate) } : {}),
      top: e.top.top(topN).map((t) => ({ ip: t.key, requests: t.count, error: t.error })),
      example: e.example,
    }))
    const apiPart = api
      ? {
          openapi: api.file,
          undocumented: eps
            .filter((e) => e.documented === false && e.template !== OTHER)
            .map((e) => ({
              method: e.method,
              template: e.template,
              requests: e.requests,
              example: e.example,
            })),
          unseen: api.operations.filter((o) => !endpoints.get(o.method)?.has(o.template)),
        }
      : {}
    return {
      sources: stats.sources,
      lines: stats.lines,
      records: stats.records,
      malformed: stats.malformed,
      skipped: stats.skipped,
      malformedExamples: stats.malformedExamples,
      ambiguous: { count: ambiguousCount, examples: ambiguous },
      ...(stats.from !== undefined ? { from: new Date(stats.from).toISOString() } : {}),
      ...(stats.to !== undefined ? { to: new Date(stats.to).toISOString() } : {}),
      identities: allIps.estimate(),
      overall: summary(overall),
      endpoints: eps,
      ...apiPart,
      overflow,
      evicted: tracker.evicted,
      elapsedMs: Math.round(stats.elapsedMs),
    }
  }

  function makeEndpoint(
    method: string,
    template: string,
    documented: boolean | undefined,
    example: string,
  ): Endpoint {
    const auth = isAuthRoute(method, template)
    return {
      method: detach(method),
      template,
      documented,
      auth,
      requests: 0,
      statuses: new Map(),
      ips: new DistinctCounter(),
      top: new TopK(Math.max(16, topN * 4)),
      ipRate: new Histogram(),
      accountRate: auth ? new Histogram() : undefined,
      failedRate: auth ? new Histogram() : undefined,
      example: copy(example, 200),
    }
  }

  return {
    add,
    report,
    /** Identities with open rate counters, for memory tests. */
    get activeIdentities() {
      return tracker.size
    },
  }
}

/** An audit in progress: `add` records, then `report`. */
export type Audit = ReturnType<typeof createAudit>

/**
 * Reads the logs and returns the audit report.
 * @throws {InputError} when a log cannot be read.
 */
export async function runAudit(
  paths: readonly string[],
  opts: AuditOptions & ScanOptions = {},
): Promise<AuditReport> {
  const audit = createAudit(opts)
  const stats = await scanLogs(paths, audit.add, opts)
  return audit.report(stats)
}

function summary(h: Histogram): RateSummary {
  return {
    samples: h.count,
    p50: h.quantile(0.5),
    p90: h.quantile(0.9),
    p99: h.quantile(0.99),
    max: h.count === 0 ? 0 : h.max,
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
