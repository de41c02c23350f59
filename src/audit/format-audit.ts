/**
 * The audit report as text for a terminal: a summary, every endpoint with its status mix and
 * per-IP rate percentiles, then undocumented and unseen endpoints and malformed lines.
 * Called by src/cli/audit.ts (`--json` prints the report itself instead).
 */
import { count } from '../logs/progress.js'
import { table, type Cell } from '../logs/table.js'
import type { AuditReport, EndpointReport } from './report.js'

/** @example console.log(formatAudit(report)) */
export function formatAudit(r: AuditReport): string {
  const out: string[] = []
  const secs = r.elapsedMs / 1000
  const files = r.sources.map((s) => s.source).join(', ')
  out.push(
    `Read ${r.lines} lines from ${files} in ${secs.toFixed(1)}s (${count(secs > 0 ? r.lines / secs : r.lines)} lines/s): ` +
      `${r.records} requests, ${r.malformed} malformed, ${r.skipped} skipped` +
      (r.ambiguous.count ? `, ${r.ambiguous.count} with ambiguous paths` : ''),
  )
  if (r.from) out.push(`From ${r.from} to ${r.to}; ~${r.identities} client IPs`)
  out.push(
    `Per-IP rate over all routes (requests per IP per active minute): p50 ${r.overall.p50}, p90 ${r.overall.p90}, p99 ${r.overall.p99}, max ${r.overall.max}`,
  )
  out.push('', `Endpoints (${r.endpoints.length}); rate = requests per IP per active minute`)
  const withDoc = r.openapi !== undefined
  const head = [
    'method',
    'route',
    'requests',
    'IPs',
    '2xx',
    '3xx',
    '4xx',
    '5xx',
    'p50',
    'p90',
    'p99',
    'max',
    'busiest IP',
  ]
  if (withDoc) head.push('doc')
  out.push(
    table(
      head,
      r.endpoints.map((e) => endpointRow(e, withDoc)),
    ),
  )
  const auth = r.endpoints.filter((e) => e.accountRate || e.failedRate)
  if (auth.length > 0) {
    out.push('', 'Login-like routes')
    out.push(
      table(
        ['method', 'route', 'per account p99', 'max', '401/403 per IP p99', 'max'],
        auth.map((e) => [
          e.method,
          e.template,
          e.accountRate ? e.accountRate.p99 : '-',
          e.accountRate ? e.accountRate.max : '-',
          e.failedRate ? e.failedRate.p99 : '-',
          e.failedRate ? e.failedRate.max : '-',
        ]),
      ),
    )
  }
  if (r.undocumented) {
    out.push(
      '',
      `Undocumented: ${r.undocumented.length} endpoint(s) seen in traffic, not in ${r.openapi}`,
    )
    if (r.undocumented.length > 0)
      out.push(
        table(
          ['method', 'route', 'requests', 'example'],
          r.undocumented.map((u) => [u.method, u.template, u.requests, u.example]),
        ),
      )
  }
  if (r.unseen && r.unseen.length > 0) {
    out.push('', `Documented but never seen: ${r.unseen.length}`)
    out.push(r.unseen.map((u) => `  ${u.method} ${u.template}`).join('\n'))
  }
  if (r.ambiguous.count > 0) {
    out.push('', `Ambiguous paths (the gateway refuses these with 400): ${r.ambiguous.count}, e.g.`)
    out.push(r.ambiguous.examples.map((e) => `  ${e}`).join('\n'))
  }
  if (r.malformedExamples.length > 0) {
    out.push('', `Malformed lines: ${r.malformed}, e.g.`)
    for (const m of r.malformedExamples) out.push(`  ${m.source}:${m.lineNo} ${m.why}: ${m.text}`)
  }
  if (r.overflow > 0)
    out.push(
      '',
      `${r.overflow} requests to endpoints beyond the table's limit are under "(other)".`,
    )
  if (r.evicted > 0)
    out.push(
      '',
      `${r.evicted} rate counters were closed early (too many identities active at once): rates may read low.`,
    )
  return out.join('\n')
}

function endpointRow(e: EndpointReport, withDoc: boolean): Cell[] {
  const cls = [0, 0, 0, 0]
  for (const [s, n] of Object.entries(e.statuses)) {
    const c = Math.floor(Number(s) / 100) - 2
    if (c >= 0 && c <= 3) cls[c]! += n
  }
  const pct = (n: number) => (n === 0 ? '-' : `${Math.max(1, Math.round((n / e.requests) * 100))}%`)
  const top = e.top[0]
  const row: Cell[] = [
    e.method,
    e.template,
    e.requests,
    e.identities,
    ...cls.map(pct),
    e.rate.p50,
    e.rate.p90,
    e.rate.p99,
    e.rate.max,
    top ? `${top.ip} (${top.error > 0 ? '~' : ''}${top.requests})` : '-',
  ]
  if (withDoc) row.push(e.documented ? 'yes' : 'NO')
  return row
}
