/**
 * The replay report as text for a terminal: what would have happened to the requests, each
 * rule with its counts and example lines, the identities most often hit, and what the logs
 * could not show. Called by src/cli/replay.ts (`--json` prints the report itself instead).
 */
import { ACTIONS } from '../engine/types.js'
import { count } from '../logs/progress.js'
import { table } from '../logs/table.js'
import type { ReplayReport } from './report.js'

/** @example console.log(formatReplay(report)) */
export function formatReplay(r: ReplayReport): string {
  const out: string[] = []
  const secs = r.elapsedMs / 1000
  out.push(
    `Replayed ${r.records} requests from ${r.sources.map((s) => s.source).join(', ')} through ${r.config || 'the config'} (every rule in monitor mode) ` +
      `in ${secs.toFixed(1)}s (${count(secs > 0 ? r.lines / secs : r.lines)} lines/s); ${r.malformed} malformed, ${r.skipped} skipped lines`,
  )
  if (r.from) out.push(`From ${r.from} to ${r.to}`)
  out.push('', 'Would have')
  out.push(
    table(
      ['action', 'requests', 'share'],
      ACTIONS.filter((a) => r.actions[a] > 0).map((a) => [
        a,
        r.actions[a],
        `${((r.actions[a] / Math.max(1, r.records)) * 100).toFixed(1)}%`,
      ]),
    ),
  )
  out.push('', r.rules.length === 0 ? 'No rule had anything to say.' : 'By rule')
  if (r.rules.length > 0) {
    out.push(
      table(
        ['rule', 'requests', 'actions', 'identities', 'note'],
        r.rules.map((x) => [
          x.rule,
          x.count,
          Object.entries(x.actions)
            .map(([a, n]) => `${a} ${n}`)
            .join(', '),
          x.identities,
          x.enforced ? 'enforced even in monitor mode' : '',
        ]),
      ),
    )
    for (const x of r.rules) {
      out.push('', `  ${x.rule}, e.g.`)
      for (const e of x.examples)
        out.push(`    ${e.source}:${e.lineNo}  ${e.reason}`, `      ${e.text}`)
    }
  }
  if (r.identities.length > 0) {
    out.push('', `By identity (top ${r.identities.length})`)
    out.push(
      table(
        ['identity', 'requests', 'IPs', 'rules'],
        r.identities.map((i) => [
          i.identity,
          i.error > 0 ? `~${i.count}` : i.count,
          i.ips >= 20 ? '20+' : i.ips,
          i.rules.join(', '),
        ]),
        80,
      ),
    )
  }
  if (r.warnings.length > 0) {
    out.push('', 'What the logs cannot show (these rules may count less than they would live)')
    for (const w of r.warnings) out.push(`  - ${w}`)
  }
  if (r.errors > 0)
    out.push('', `${r.errors} layer failures (failed closed); first: ${r.firstError}`)
  if (r.malformedExamples.length > 0) {
    out.push('', `Malformed lines: ${r.malformed}, e.g.`)
    for (const m of r.malformedExamples) out.push(`  ${m.source}:${m.lineNo} ${m.why}: ${m.text}`)
  }
  return out.join('\n')
}
