/**
 * Result types, per-target summaries (medians over rounds, ratios against the baseline) and the
 * plain-text table.
 */
import type { LoadResult } from './load.js'
import { median } from './stats.js'

/** One measured run of one target: the load result plus CPU accounting. */
export interface RunSample extends LoadResult {
  /** Round index, 0-based. */
  round: number
  /**
   * Order of the run in the whole bench (0, 1, 2…). A target's run is compared with the baseline
   * runs right before and after it, so the machine's drift (which on a shared machine is often
   * larger than the difference being measured) cancels out.
   */
  seq: number
  /** CPU time (user + system) of the target process per response, in µs. */
  cpuUsPerReq: number | null
  /** CPU time of the target process over wall time, in % of one core. */
  cpuPercent: number | null
  /** CPU time of the bench upstream process per response, in µs (same as above for `upstream`). */
  upstreamCpuUsPerReq: number | null
  /** CPU time of the bench (load generator) process over wall time, in % of one core. */
  loadGenCpuPercent: number
  /**
   * CPU time the rest of the machine (processes other than the target, the upstream and the
   * bench) used during the run, in % of one core: how much outside load competed.
   */
  otherCpuPercent: number | null
}

/** Medians over a target's runs and its ratios to the baseline. */
export interface TargetSummary {
  /** Median responses per second. */
  reqPerSec: number | null
  /** Median of the per-run median latencies, ms. */
  p50Ms: number | null
  /** Median of the per-run p99 latencies, ms. */
  p99Ms: number | null
  /** Median target CPU µs per response. */
  cpuUsPerReq: number | null
  /** Median target CPU %, of one core. */
  cpuPercent: number | null
  /** Median upstream CPU µs per response. */
  upstreamCpuUsPerReq: number | null
  /** Median load-generator CPU %, of one core. */
  loadGenCpuPercent: number | null
  /** Median CPU % of one core used by other processes during the runs. */
  otherCpuPercent: number | null
  /** Median over rounds of (target req/s ÷ baseline req/s in the same round). */
  reqPerSecRatio: number | null
  /** Median over rounds of (target CPU/req ÷ baseline CPU/req in the same round). */
  cpuPerReqRatio: number | null
  /** Smallest and largest per-round CPU/req ratio: a feel for the noise. */
  cpuPerReqRatioRange: [number, number] | null
  /** Runs left out of the ratios: other processes used more than {@link NOISY_OTHER_PERCENT}. */
  noisyRuns: number
  /** Non-2xx responses over all runs. */
  non2xx: number
  /** Connection errors and timeouts over all runs. */
  errors: number
}

/** Everything known about one target in one scenario. */
export interface TargetResult {
  /** Target name. */
  name: string
  /** Target description. */
  description: string
  /** `ok` when measured, `skipped` when not startable here, `failed` when it died or misbehaved. */
  status: 'ok' | 'skipped' | 'failed'
  /** Why it was skipped or failed, or a warning (e.g. non-2xx probe). */
  note?: string
  /** Status of the single probe request sent before warm-up. */
  probeStatus?: number
  /** Measured runs. */
  runs: RunSample[]
  /** Summary, once runs exist. */
  summary?: TargetSummary
}

/**
 * Other processes' CPU (% of one core) above which a run is left out of the ratios: something
 * else was competing for the machine then (a Redis target's own server stays well below it).
 */
export const NOISY_OTHER_PERCENT = 50

function noisy(run: RunSample): boolean {
  return run.otherCpuPercent !== null && run.otherCpuPercent > NOISY_OTHER_PERCENT
}

/** The runs measured while nothing else competed for the machine; all of them when none was. */
function clean(runs: readonly RunSample[]): readonly RunSample[] {
  const quiet = runs.filter((r) => !noisy(r))
  return quiet.length > 0 ? quiet : runs
}

function pairedRatios(
  runs: readonly RunSample[],
  baseline: readonly RunSample[],
  pick: (run: RunSample) => number | null,
): number[] {
  const ratios: number[] = []
  const bases = clean(baseline)
  for (const run of clean(runs)) {
    // The baseline runs adjacent in time: their mean cancels a linear drift of the machine.
    let before: RunSample | undefined
    let after: RunSample | undefined
    for (const b of bases) {
      if (b.seq < run.seq && (before === undefined || b.seq > before.seq)) before = b
      if (b.seq > run.seq && (after === undefined || b.seq < after.seq)) after = b
    }
    const values = [before, after]
      .map((b) => (b === undefined ? null : pick(b)))
      .filter((v): v is number => v !== null && v > 0)
    const a = pick(run)
    if (a === null || values.length === 0) continue
    ratios.push(a / (values.reduce((x, y) => x + y, 0) / values.length))
  }
  return ratios
}

/**
 * Summarises a target's runs; each ratio uses the baseline's runs just before and after it.
 *
 * @param runs - The target's runs.
 * @param baseline - The baseline's runs in the same scenario (empty when it was not measured).
 */
export function summarise(
  runs: readonly RunSample[],
  baseline: readonly RunSample[],
): TargetSummary {
  const cpuRatios = pairedRatios(runs, baseline, (r) => r.cpuUsPerReq)
  return {
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)),
    cpuPercent: median(runs.map((r) => r.cpuPercent)),
    upstreamCpuUsPerReq: median(runs.map((r) => r.upstreamCpuUsPerReq)),
    loadGenCpuPercent: median(runs.map((r) => r.loadGenCpuPercent)),
    otherCpuPercent: median(runs.map((r) => r.otherCpuPercent)),
    reqPerSecRatio: median(pairedRatios(runs, baseline, (r) => r.reqPerSec)),
    cpuPerReqRatio: median(cpuRatios),
    cpuPerReqRatioRange:
      cpuRatios.length === 0 ? null : [Math.min(...cpuRatios), Math.max(...cpuRatios)],
    noisyRuns: runs.length - clean(runs).length,
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
  }
}

function fmt(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? '-' : value.toFixed(digits)
}

/**
 * Renders the results of one scenario as an aligned plain-text table, followed by one line per
 * skipped/failed target or warning.
 *
 * @param results - Target results of one scenario, in display order.
 */
export function formatTable(results: readonly TargetResult[]): string {
  const header = [
    'target',
    'req/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'CPU %',
    'req/s ×base',
    'CPU/req ×base',
    'other %',
    'non2xx/err',
  ]
  const rows: string[][] = []
  const notes: string[] = []
  for (const r of results) {
    if (r.note !== undefined)
      notes.push(`  ${r.name}: ${r.status === 'ok' ? '' : `${r.status}, `}${r.note}`)
    const s = r.summary
    if (s === undefined) continue
    if (s.noisyRuns > 0)
      notes.push(
        `  ${r.name}: ${s.noisyRuns} of ${r.runs.length} runs left out of the ratios (other processes used more than ${NOISY_OTHER_PERCENT}% of a core)`,
      )
    rows.push([
      r.name,
      fmt(s.reqPerSec, 0),
      fmt(s.p50Ms, 2),
      fmt(s.p99Ms, 2),
      fmt(s.cpuUsPerReq, 1),
      fmt(s.cpuPercent, 0),
      fmt(s.reqPerSecRatio, 2),
      fmt(s.cpuPerReqRatio, 2),
      fmt(s.otherCpuPercent, 0),
      `${s.non2xx}/${s.errors}`,
    ])
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)]
  if (notes.length > 0) out.push('', 'notes:', ...notes)
  return out.join('\n')
}
