/**
 * `runSimulation`: people and bots, side by side, against a gateway for a bounded time, and a
 * report of what became of their requests. The target is the in-process demo (the shop and a
 * gateway running the demo config, or `config`) unless `target` names a running gateway.
 * Called by `bulwark simulate` and the end-to-end tests; calls the target, the run and the
 * scenarios.
 * @see ../../docs/simulate.md
 */
import { Agent } from 'undici'
import { isLoopback } from '../admin/loopback.js'
import { startDemoTarget } from './demo-target.js'
import type { KindTotals, ScenarioReport, SimulationReport } from './report.js'
import { createRng } from './rng.js'
import { selectScenarios } from './select-scenarios.js'
import { Stopped } from './sim-client.js'
import { createTally } from './tally.js'
import { externalTarget, type Target } from './target.js'
import type { BotHeaders } from './profiles.js'
import { createRun } from './world.js'

/** Options of {@link runSimulation}; the CLI's flags, parsed. */
export interface SimulationOptions {
  /** Base URL of a running gateway; loopback only unless `allowRemote`. Default: the demo. */
  readonly target?: string
  /** Allow a `target` that is not on this machine. */
  readonly allowRemote?: boolean
  /** Gateway config for the in-process demo; default `examples/shop/bulwark.yaml`. */
  readonly config?: string
  /** Real milliseconds the run lasts at most; default 30 000. */
  readonly durationMs?: number
  /** Simulated time runs this many times faster than real time; default 1. */
  readonly speed?: number
  /** Seed of every random choice; default 1. */
  readonly seed?: number
  /** Scenario ids, threat ids (`OAT-011`), `humans` or `bots`; default all. */
  readonly scenarios?: readonly string[]
  /**
   * The bots' header sets: `older` browser releases than people's (the default), or `people`'s
   * very own (a bot driving a current browser): then only what a client does tells it apart.
   */
  readonly botHeaders?: BotHeaders
}

/** Requests in flight when time is up get this long to finish. */
const GRACE_MS = 2_000
const MAX_DURATION_MS = 24 * 3_600_000

/**
 * Runs the simulation and resolves its report once every scenario has stopped.
 * @throws {TypeError} for an option out of range or a remote target without `allowRemote`.
 * @throws {ConfigError} when the demo's gateway config cannot be loaded.
 * @example
 * const report = await runSimulation({ durationMs: 5_000, speed: 20, scenarios: ['humans', 'OAT-007'] })
 * report.scenarios.find((s) => s.id === 'office')?.denied // 0
 */
export async function runSimulation(opts: SimulationOptions = {}): Promise<SimulationReport> {
  const durationMs = opts.durationMs ?? 30_000
  const speed = opts.speed ?? 1
  const seed = opts.seed ?? 1
  const botHeaders = opts.botHeaders ?? 'older'
  if (!(durationMs > 0 && durationMs <= MAX_DURATION_MS))
    throw new TypeError(
      `runSimulation: durationMs must be > 0 and at most a day, got ${durationMs}`,
    )
  if (!(speed > 0 && Number.isFinite(speed)))
    throw new TypeError(`runSimulation: speed must be a positive number, got ${speed}`)
  if (!Number.isSafeInteger(seed))
    throw new TypeError(`runSimulation: seed must be an integer, got ${seed}`)
  if (botHeaders !== 'older' && botHeaders !== 'people')
    throw new TypeError(
      `runSimulation: botHeaders must be older or people, got ${String(botHeaders)}`,
    )
  if (opts.target !== undefined && opts.config !== undefined)
    throw new TypeError('runSimulation: config is for the in-process demo; a target runs its own')
  const scenarios = selectScenarios(opts.scenarios)
  const target: Target =
    opts.target === undefined
      ? await startDemoTarget(opts.config)
      : externalTarget(checkTarget(opts.target, opts.allowRemote === true))

  const agent = new Agent({ connections: 128, keepAliveTimeout: 4_000 })
  const rng = createRng(seed)
  const run = createRun(target, agent, speed, rng, botHeaders)
  const tallies = scenarios.map((s) =>
    createTally(
      { id: s.id, kind: s.kind, title: s.title, threat: s.threat ?? null },
      target.mode === 'demo',
    ),
  )
  const started = performance.now()
  const stopTimer = setTimeout(() => run.stop(), durationMs)
  const cutTimer = setTimeout(() => run.cut(), durationMs + GRACE_MS)
  try {
    // Every scenario starts now (people and bots side by side) and ends when time is up.
    const results = await Promise.allSettled(
      scenarios.map((s, i) =>
        s.run(run.world(rng.fork(`scenario:${s.id}`), tallies[i]!)).catch((err: unknown) => {
          // A scenario that breaks (a bug, not the end of time) ends the run for all.
          if (!(err instanceof Stopped)) run.stop()
          throw err
        }),
      ),
    )
    const failed = results.find(
      (r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof Stopped),
    )
    if (failed) throw failed.reason
  } finally {
    run.stop()
    clearTimeout(stopTimer)
    clearTimeout(cutTimer)
    await agent.close()
    await target.close()
  }
  const rows = tallies.map((t) => t.report())
  return {
    mode: target.mode,
    target: target.url,
    config: target.config,
    seed,
    speed,
    botHeaders,
    durationMs,
    elapsedMs: Math.round(performance.now() - started),
    scenarios: rows,
    humans: totals(rows.filter((r) => r.kind === 'human')),
    bots: totals(rows.filter((r) => r.kind === 'bot')),
  }
}

function checkTarget(target: string, allowRemote: boolean): string {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new TypeError(
      `runSimulation: target must be an http:// URL, got ${JSON.stringify(target)}`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(
      `runSimulation: target must be an http:// URL, got ${JSON.stringify(target)}`,
    )
  if (!allowRemote && !isLoopback(url.hostname))
    throw new TypeError(
      `runSimulation: target ${url.host} is not on this machine; the simulator sends attack traffic, so pass allowRemote (--allow-remote) to aim it elsewhere`,
    )
  return url.origin
}

function totals(rows: readonly ScenarioReport[]): KindTotals {
  return {
    scenarios: rows.length,
    sent: rows.reduce((n, r) => n + r.sent, 0),
    denied: rows.reduce((n, r) => n + r.denied, 0),
    scenariosDenied: rows.filter((r) => r.denied > 0).length,
  }
}
