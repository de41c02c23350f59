/**
 * Counts one scenario's requests as they are answered and turns the counts into its report row.
 * Classifies each answer (success, denial, error) from the observer's view, never the client's.
 * Used by `sim-client.ts` (records) and `simulate.ts` (reports).
 * @see ../../docs/simulate.md#the-report
 */
import type { ClientKind, ScenarioReport } from './report.js'
import type { Observation } from './target.js'

/** Latency samples kept per scenario; beyond this, a uniform sample of them. */
const MAX_SAMPLES = 20_000

/** One scenario's counters. */
export interface Tally {
  /** Numbers the next request in sending order (1-based) and counts it as sent. */
  issue(): number
  /** A new client; its addresses and header sets are counted as it uses them. */
  addClient(): void
  /** One answer (status 0: none) to request number `n`. */
  record(
    n: number,
    ip: string,
    profile: string,
    status: number,
    ms: number,
    seen: Observation,
  ): void
  achieved(text: string): void
  report(): ScenarioReport
}

/**
 * @example
 * const t = createTally({ id: 'office', kind: 'human', title: 'Office', threat: null }, true)
 * t.record(t.issue(), '198.51.100.10', 'chrome-124', 200, 12, { reached: true })
 */
export function createTally(
  about: { id: string; kind: ClientKind; title: string; threat: string | null },
  /** The target can tell what reached the upstream (demo mode). */
  observable: boolean,
): Tally {
  let sent = 0
  let clients = 0
  let reached = 0
  let successes = 0
  let denied = 0
  let errors = 0
  let firstDenialAt: number | null = null
  let addedTotal = 0
  let addedMax = 0
  let answered = 0
  let achieved: string | null = null
  const ips = new Set<string>()
  const profiles = new Set<string>()
  const statuses: Record<string, number> = {}
  const deniedBy: Record<string, number> = {}
  const samples: number[] = []

  return {
    issue: () => ++sent,
    addClient: () => void clients++,
    achieved: (text) => void (achieved = text),
    record(n, ip, profile, status, ms, seen) {
      ips.add(ip)
      profiles.add(profile)
      statuses[status] = (statuses[status] ?? 0) + 1
      if (seen.reached) reached++
      addedTotal += seen.delayMs ?? 0
      addedMax = Math.max(addedMax, seen.delayMs ?? 0)
      if (status === 0 || status >= 500) {
        errors++
        return
      }
      answered++
      if (samples.length < MAX_SAMPLES) samples.push(ms)
      else samples[Math.floor(Math.random() * MAX_SAMPLES)] = ms
      const ok = status >= 200 && status < 300
      // Demo mode: whatever the upstream never saw was answered by the gateway, fakes included.
      // An external target shows only the status.
      const isDenial = observable ? !seen.reached : status === 403 || status === 429
      if (ok && (!observable || seen.reached)) successes++
      if (!isDenial) return
      denied++
      if (firstDenialAt === null || n < firstDenialAt) firstDenialAt = n
      // No rule: the gateway answered without one (a path no route sends anywhere).
      const rule = seen.rule ?? '(no rule)'
      deniedBy[rule] = (deniedBy[rule] ?? 0) + 1
    },
    report() {
      const sorted = [...samples].sort((a, b) => a - b)
      const at = (q: number) =>
        sorted.length
          ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)
          : 0
      return {
        ...about,
        clients,
        ips: ips.size,
        profiles: profiles.size,
        sent,
        reachedUpstream: observable ? reached : null,
        successes,
        denied,
        firstDenialAt,
        errors,
        statuses,
        latencyMs: { p50: at(0.5), p95: at(0.95), max: Math.round(sorted.at(-1) ?? 0) },
        addedLatencyMs: observable
          ? { mean: answered ? Math.round(addedTotal / answered) : 0, max: addedMax }
          : null,
        deniedBy: observable ? deniedBy : null,
        achieved,
      }
    },
  }
}
