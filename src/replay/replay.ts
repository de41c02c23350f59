/**
 * `bulwark replay`'s engine: runs log records through an engine built from the config with
 * every rule in monitor mode, on a clock driven by the log's timestamps, and tallies what would
 * have been throttled, blocked or deceived — by action, by rule (with example lines) and by
 * identity. Memory is bounded by the config's store (`store.maxKeys`) and fixed-size tallies.
 * Called by src/cli/replay.ts.
 * @see ../../docs/audit-replay.md#replay
 */
import type { Config } from '../config/schema.js'
import { refuse } from '../engine/decision.js'
import { createEngine } from '../engine/engine.js'
import {
  ACTIONS,
  SEVERITY,
  type Action,
  type Clock,
  type Decision,
  type MaybePromise,
  type RequestContext,
} from '../engine/types.js'
import type { LogFormat, LogRecord } from '../logs/record.js'
import { copy, scanLogs, type ScanOptions } from '../logs/scan.js'
import { layerTypes } from '../layers/registry.js'
import { MemoryStore } from '../store/memory.js'
import { DistinctCounter } from '../audit/distinct.js'
import { TopK } from '../audit/top-k.js'
import { blindSpots } from './blind-spots.js'
import { monitorOnly } from './monitor-config.js'
import type { ReplayExample, ReplayReport } from './report.js'
import { restoreFacets, toRawRequest } from './to-raw.js'

/** Options of {@link createReplay}. */
export interface ReplayOptions {
  /** Identities listed (default 10). */
  readonly top?: number
  /** Example lines kept per rule (default 3). */
  readonly examples?: number
  /** The config's file name, for the report. */
  readonly configFile?: string
}

interface RuleTally {
  count: number
  readonly actions: Partial<Record<Action, number>>
  readonly enforced: boolean
  readonly identities: DistinctCounter
  readonly examples: ReplayExample[]
}

interface IdentityTally {
  readonly rules: Set<string>
  readonly ips: Set<string>
}

/** Statuses the gateway itself answers with when it enforces these actions. */
const ANSWERED_BY_GATEWAY: ReadonlySet<Action> = new Set([
  'throttle',
  'challenge',
  'deceive',
  'block',
])
const MAX_IPS = 20

/**
 * @example
 * const replay = createReplay(config)
 * const stats = await scanLogs(files, replay.add)
 * const report = replay.report(stats)
 * await replay.close()
 */
export function createReplay(config: Config, opts: ReplayOptions = {}) {
  const top = opts.top ?? 10
  const maxExamples = opts.examples ?? 3
  // Starts at 0 (not the wall clock): the first record moves it to the log's time.
  let now = 0
  const clock: Clock = { now: () => now }
  let errors = 0
  /** Lines without a fingerprint or headers to make one: the IP stood in. */
  let standIns = 0
  let firstError: string | undefined
  const monitored = monitorOnly(config)
  const engine = createEngine(monitored, {
    clock,
    store: new MemoryStore({ maxKeys: monitored.store.maxKeys }),
    onError(err, where) {
      errors++
      firstError ??= `${where}: ${err instanceof Error ? err.message : String(err)}`
    },
  })
  const keyFacets = new Map((config.limits?.rules ?? []).map((r) => [`limits.${r.id}`, r.key]))
  const actions = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>
  const rules = new Map<string, RuleTally>()
  const identities = new TopK<IdentityTally>(Math.max(64, top * 4))
  const formats: Partial<Record<LogFormat, number>> = {}

  function add(r: LogRecord): MaybePromise<void> {
    formats[r.format] = (formats[r.format] ?? 0) + 1
    // Monotonic: stores expect time not to run backwards (several files, slightly shuffled lines).
    if (r.time > now) now = r.time
    const { ctx, refusal } = engine.prepare(toRawRequest(r))
    if (!restoreFacets(ctx, r)) standIns++
    if (refusal) {
      const d = refuse(refusal)
      engine.observe(ctx, { status: refusal.status ?? 400, ms: 0, byGateway: true }, d)
      return tally(r, ctx, d)
    }
    const d = engine.inspect(ctx)
    if (d instanceof Promise) return d.then((dd) => settle(r, ctx, dd))
    settle(r, ctx, d)
  }

  function settle(r: LogRecord, ctx: RequestContext, d: Decision): void {
    const byGateway = r.action !== undefined && ANSWERED_BY_GATEWAY.has(r.action)
    engine.observe(ctx, { status: r.status, ms: 0, byGateway }, d)
    tally(r, ctx, d)
  }

  function tally(r: LogRecord, ctx: RequestContext, d: Decision): void {
    const would = d.wouldHave && SEVERITY[d.wouldHave] > SEVERITY[d.action] ? d.wouldHave : d.action
    actions[would]++
    for (const v of d.verdicts) {
      if (v.action === 'allow') continue
      let t = rules.get(v.rule)
      if (t === undefined) {
        t = {
          count: 0,
          actions: {},
          enforced: !v.monitor,
          identities: new DistinctCounter(),
          examples: [],
        }
        rules.set(v.rule, t)
      }
      t.count++
      t.actions[v.action] = (t.actions[v.action] ?? 0) + 1
      const who = identityOf(v.rule, v.data?.key, ctx)
      t.identities.add(who)
      if (t.examples.length < maxExamples)
        t.examples.push({
          source: r.source,
          lineNo: r.lineNo,
          reason: v.reason,
          text: copy(r.text, 300),
        })
      const e = identities.add(who)
      const data = (e.data ??= { rules: new Set(), ips: new Set() })
      data.rules.add(v.rule)
      if (data.ips.size < MAX_IPS) data.ips.add(ctx.identity.ip)
    }
  }

  /** `account "alice"` from a limits key (`rule-id|alice`), else the client IP. */
  function identityOf(rule: string, key: unknown, ctx: RequestContext): string {
    const facets = keyFacets.get(rule)
    if (facets && typeof key === 'string') {
      const values = key.split('|').slice(1)
      if (values.length === facets.length)
        return facets.map((f, i) => `${f} ${JSON.stringify(values[i])}`).join(', ')
    }
    return `ip ${JSON.stringify(ctx.identity.ip)}`
  }

  function report(stats: Awaited<ReturnType<typeof scanLogs>>): ReplayReport {
    return {
      config: opts.configFile ?? '',
      sources: stats.sources,
      lines: stats.lines,
      records: stats.records,
      malformed: stats.malformed,
      skipped: stats.skipped,
      malformedExamples: stats.malformedExamples,
      ...(stats.from !== undefined ? { from: new Date(stats.from).toISOString() } : {}),
      ...(stats.to !== undefined ? { to: new Date(stats.to).toISOString() } : {}),
      actions,
      rules: [...rules]
        .map(([rule, t]) => ({
          rule,
          count: t.count,
          actions: t.actions,
          enforced: t.enforced,
          identities: t.identities.estimate(),
          examples: t.examples,
        }))
        .sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : 1)),
      identities: identities.top(top).map((e) => ({
        identity: e.key,
        count: e.count,
        error: e.error,
        rules: [...(e.data?.rules ?? [])].sort(),
        ips: e.data?.ips.size ?? 0,
      })),
      warnings: [
        ...blindSpots(config, formats),
        ...(standIns > 0 && usesFingerprint(config)
          ? [
              `fingerprint: ${standIns} lines carried neither a fingerprint nor headers to make one; replay used each line's IP in its place`,
            ]
          : []),
      ],
      errors,
      ...(firstError !== undefined ? { firstError } : {}),
      elapsedMs: Math.round(stats.elapsedMs),
    }
  }

  return { add, report, close: () => engine.close() }
}

/** A replay in progress: `add` records, then `report`, then `close`. */
export type Replay = ReturnType<typeof createReplay>

/** Whether any layer block names the fingerprint facet (read loosely: layers own their shapes). */
function usesFingerprint(config: Config): boolean {
  const blocks = Object.keys(layerTypes).map((k) => (config as Record<string, unknown>)[k])
  return JSON.stringify(blocks).includes('"fingerprint"')
}

/**
 * Replays `paths` through `config` and returns the report.
 * @throws {InputError} when a log cannot be read.
 */
export async function runReplay(
  config: Config,
  paths: readonly string[],
  opts: ReplayOptions & ScanOptions = {},
): Promise<ReplayReport> {
  const replay = createReplay(config, opts)
  try {
    const stats = await scanLogs(paths, replay.add, opts)
    return replay.report(stats)
  } finally {
    await replay.close()
  }
}
