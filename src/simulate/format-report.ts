/**
 * The report as plain text: a header line, one aligned table row per scenario (people, then
 * bots), what stopped each scenario and what it got done, and a verdict line.
 * Used by `bulwark simulate`; pure.
 * @see ../../docs/simulate.md#the-report
 */
import type { ScenarioReport, SimulationReport } from './report.js'

const COLUMNS = [
  'scenario',
  'clients',
  'IPs',
  'sent',
  'upstream',
  'success',
  'denied',
  '1st denial',
  'added ms',
  'p95 ms',
] as const

/**
 * @example console.log(formatReport(await runSimulation({ durationMs: 10_000 })))
 */
export function formatReport(r: SimulationReport): string {
  const where =
    r.mode === 'demo' ? `the in-process demo at ${r.target} (config ${r.config})` : r.target
  const out = [
    `bulwark simulate: ${where}`,
    `${seconds(r.elapsedMs)} real (bound ${seconds(r.durationMs)}), speed ×${r.speed} ` +
      `(${seconds(r.elapsedMs * r.speed)} simulated), seed ${r.seed}` +
      (r.botHeaders === 'people' ? ", bots on people's header sets" : ''),
    '',
  ]
  const rows: string[][] = []
  for (const kind of ['human', 'bot'] as const) {
    const group = r.scenarios.filter((s) => s.kind === kind)
    if (group.length === 0) continue
    rows.push([kind === 'human' ? 'people' : 'bots'])
    for (const s of group) rows.push(row(s))
  }
  const widths = COLUMNS.map((c, i) =>
    Math.max(c.length, ...rows.filter((x) => x.length > 1).map((x) => x[i]!.length)),
  )
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()
  out.push(line(COLUMNS))
  for (const x of rows) out.push(x.length === 1 ? x[0]! : line(x))
  out.push('', ...outcomes(r.scenarios), '', verdict(r))
  if (r.mode === 'external')
    out.push(
      'upstream, added ms and rules: n/a for an external target; denials are its 403 and 429 answers',
    )
  return out.join('\n')
}

function row(s: ScenarioReport): string[] {
  const dash = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v))
  return [
    `  ${label(s)}`,
    String(s.clients),
    String(s.ips),
    String(s.sent),
    s.reachedUpstream === null ? 'n/a' : String(s.reachedUpstream),
    String(s.successes),
    String(s.denied),
    dash(s.firstDenialAt),
    s.addedLatencyMs === null ? 'n/a' : String(s.addedLatencyMs.mean),
    String(s.latencyMs.p95),
  ]
}

function label(s: ScenarioReport): string {
  return s.threat ? `${s.id} (${s.threat})` : s.id
}

/** One line per scenario: which rules denied it, and what it got done. */
function outcomes(scenarios: readonly ScenarioReport[]): string[] {
  const width = Math.max(...scenarios.map((s) => label(s).length))
  return scenarios.map((s) => {
    const rules = Object.entries(s.deniedBy ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([rule, n]) => `${rule} ×${n}`)
    const stopped =
      s.denied === 0 ? 'never denied' : rules.length ? `denied by ${rules.join(', ')}` : 'denied'
    return `${label(s).padEnd(width)}  ${stopped}${s.achieved ? `; ${s.achieved}` : ''}`.trimEnd()
  })
}

function verdict(r: SimulationReport): string {
  const h = r.humans
  const b = r.bots
  const parts = []
  if (h.scenarios) parts.push(`people: ${h.denied} of ${h.sent} requests denied`)
  if (b.scenarios)
    parts.push(
      `bots: ${b.scenariosDenied} of ${b.scenarios} scenarios denied, ${b.denied} of ${b.sent} requests`,
    )
  return parts.join(' · ')
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`
}
