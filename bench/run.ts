/**
 * Bulwark benchmark harness.
 *
 * Starts the bench upstream, the baseline proxy and the Bulwark targets, each in its own child
 * process, then drives them with autocannon from this process in interleaved rounds, reading each
 * target's CPU time from `/proc` around every run. Prints a table per scenario and writes the
 * same data to `bench/results/latest.json`. See `bench/README.md`.
 *
 * Usage: `node dist/bench/run.js [--duration 4] [--rounds 3] [--connections 32] [--pipelining 1]
 * [--warmup 2] [--only name,name] [--all] [--scenario get,post] [--out file] [--keep-tmp]
 * [--pin] [--list]`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runLoad } from './lib/load.js'
import { getFreePort, httpOnce } from './lib/net.js'
import {
  clockTicksPerSecond,
  logTail,
  readCpuMicros,
  readMachineBusyMicros,
  pinProcess,
  spawnNode,
  stopChild,
  trimLog,
  waitForHttp,
  type ChildHandle,
} from './lib/proc.js'
import { formatTable, summarise, type RunSample, type TargetResult } from './lib/report.js'
import { SCENARIOS, type Scenario } from './lib/scenarios.js'
import {
  BASELINE,
  TARGETS,
  type SpawnPlan,
  type TargetPlan,
  type TargetSpec,
} from './lib/targets.js'

const USAGE = `usage: node dist/bench/run.js [options]

  --duration <s>      seconds per measured run (default 4)
  --rounds <n>        interleaved rounds per target (default 3)
  --connections <n>   autocannon connections (default 32)
  --pipelining <n>    autocannon pipelining (default 1)
  --warmup <s>        unmeasured warm-up per target and scenario (default 2, 0 to skip)
  --only <a,b>        targets to measure (baseline is always added for the ratios)
  --all               also measure the optional targets
  --scenario <a,b>    scenarios to run, in order (default get)
  --out <file>        JSON output (default bench/results/latest.json)
  --startup-timeout <s>  how long a target may take to answer HTTP (default 20)
  --keep-tmp          keep generated configs and child logs
  --pin               pin the measured target to the last CPU and the load generator, the
                      upstream (and Redis) to the others (Linux taskset): steadier CPU µs/req
                      on a shared machine; req/s is then capped by the load CPUs, so judge by
                      CPU/req ×base
  --list              list targets and scenarios, then exit
  --help              this text`

/** Parsed command line. */
interface Options {
  durationS: number
  rounds: number
  connections: number
  pipelining: number
  warmupS: number
  only: string[] | null
  all: boolean
  scenarios: Scenario[]
  out: string | undefined
  startupTimeoutMs: number
  keepTmp: boolean
  pin: boolean
}

/** A started target process (or the shared upstream) ready to be measured. */
interface LiveTarget {
  spec: TargetSpec
  handle: ChildHandle
  port: number
  headers: Record<string, string>
}

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function positive(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) fail(`--${name} must be a number >= ${min}`)
  return value
}

function parseOptions(argv: string[]): Options | 'help' | 'list' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      pipelining: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      scenario: { type: 'string' },
      out: { type: 'string' },
      'startup-timeout': { type: 'string' },
      'keep-tmp': { type: 'boolean' },
      pin: { type: 'boolean' },
      all: { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help === true) return 'help'
  if (values.list === true) return 'list'
  const split = (raw: string | undefined): string[] | null =>
    raw === undefined
      ? null
      : raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
  const only = split(values.only)
  for (const name of only ?? []) {
    if (!TARGETS.some((t) => t.name === name)) {
      fail(`unknown target '${name}' (known: ${TARGETS.map((t) => t.name).join(', ')})`)
    }
  }
  const scenarios = (split(values.scenario) ?? ['get']).map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name)
    if (scenario === undefined) {
      fail(`unknown scenario '${name}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`)
    }
    return scenario
  })
  return {
    durationS: positive('duration', values.duration, 4),
    rounds: Math.floor(positive('rounds', values.rounds, 3)),
    connections: Math.floor(positive('connections', values.connections, 32)),
    pipelining: Math.floor(positive('pipelining', values.pipelining, 1)),
    warmupS: positive('warmup', values.warmup, 2, 0),
    only: only === null ? null : [...new Set([...only, BASELINE])],
    all: values.all === true,
    scenarios,
    out: values.out,
    startupTimeoutMs: positive('startup-timeout', values['startup-timeout'], 20) * 1000,
    keepTmp: values['keep-tmp'] === true,
    pin: values.pin === true,
  }
}

/**
 * `--pin`: the measured target gets the last CPU to itself, everything else shares the rest.
 * Undefined (with a note) on a single CPU or without `taskset`.
 */
function cpuPins(): { target: string; load: string } | undefined {
  const n = cpus().length
  const ok = n >= 2 && pinProcess(process.pid, `0-${n - 1}`)
  if (!ok) {
    console.error('bench: --pin needs two CPUs and taskset (util-linux); running unpinned')
    return undefined
  }
  return { target: String(n - 1), load: n === 2 ? '0' : `0-${n - 2}` }
}

/** The repository root: the nearest ancestor of this file holding a `package.json`. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the repository root (package.json)')
    dir = parent
  }
  return dir
}

function gitCommit(rootDir: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: rootDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return null
  }
}

/** `1 round`, `3 rounds`. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/**
 * The most telling line of a child's log for a one-line message: the last line mentioning an
 * error (not a stack frame), else the last line other than Node's closing `Node.js vX` banner.
 */
function logSummary(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at ') && !/^Node\.js v\d/.test(l))
  const line = lines.findLast((l) => /error/i.test(l)) ?? lines.at(-1) ?? '(no output)'
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

/** Outcome of {@link startProcess}. */
type StartOutcome =
  | { kind: 'started'; handle: ChildHandle; port: number; plan: SpawnPlan }
  | { kind: 'upstream' }
  | { kind: 'skip'; reason: string }
  | { kind: 'failed'; reason: string }

/**
 * Builds a target's plan on a fresh port and, for spawn plans, starts the process and waits until
 * it answers HTTP. Retries on a new port when the process exits with `EADDRINUSE` (the probed port
 * was taken in the meantime).
 */
async function startProcess(
  name: string,
  makePlan: (port: number) => Promise<TargetPlan> | TargetPlan,
  rootDir: string,
  tmpDir: string,
  children: ChildHandle[],
  timeoutMs: number,
  pinTo?: string,
): Promise<StartOutcome> {
  let lastError = ''
  // Retry on a new port only when the port was taken between probing and binding.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await getFreePort()
    const plan = await makePlan(port)
    if (plan.kind !== 'spawn') return plan
    const handle = spawnNode({
      name,
      script: plan.script,
      args: plan.args,
      cwd: plan.cwd ?? rootDir,
      env: plan.env,
      logFile: join(tmpDir, `${name}.log`),
    })
    children.push(handle)
    if (pinTo !== undefined && !pinProcess(handle.pid, pinTo))
      process.stderr.write(`bench: could not pin ${name} to CPU ${pinTo}\n`)
    if (await waitForHttp(handle, `http://127.0.0.1:${port}/`, timeoutMs)) {
      return { kind: 'started', handle, port, plan }
    }
    if (handle.exit === undefined) {
      await stopChild(handle)
      const reason = `did not answer HTTP within ${timeoutMs / 1000} s: ${logSummary(logTail(handle))}`
      return { kind: 'failed', reason }
    }
    const log = logTail(handle)
    lastError = `exited (${handle.exit}) before answering HTTP: ${logSummary(log)}`
    if (!log.includes('EADDRINUSE')) break
  }
  return { kind: 'failed', reason: lastError }
}

async function measure(
  target: LiveTarget,
  upstream: ChildHandle,
  scenario: Scenario,
  options: Options,
  round: number,
  seq = -1,
): Promise<RunSample> {
  const cpu0 = readCpuMicros(target.handle.pid)
  const up0 = readCpuMicros(upstream.pid)
  const busy0 = readMachineBusyMicros()
  const self0 = process.cpuUsage()
  const wall0 = performance.now()
  const load = await runLoad({
    url: `http://127.0.0.1:${target.port}${scenario.path}`,
    method: scenario.method,
    headers: { ...scenario.headers, ...target.headers },
    body: scenario.body,
    connections: options.connections,
    pipelining: options.pipelining,
    durationS: options.durationS,
  })
  const wallUs = (performance.now() - wall0) * 1000
  const self = process.cpuUsage(self0)
  const cpu1 = readCpuMicros(target.handle.pid)
  const up1 = readCpuMicros(upstream.pid)
  const busy1 = readMachineBusyMicros()
  const cpuUs = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0
  const upUs = up0 === null || up1 === null ? null : up1 - up0
  const selfUs = self.user + self.system
  // Machine-wide busy time not spent by the target, the upstream or this process.
  const ownUs = (cpuUs ?? 0) + (target.handle === upstream ? 0 : (upUs ?? 0)) + selfUs
  const otherUs = busy0 === null || busy1 === null ? null : Math.max(0, busy1 - busy0 - ownUs)
  return {
    round,
    seq,
    ...load,
    cpuUsPerReq: cpuUs === null || load.requests === 0 ? null : cpuUs / load.requests,
    cpuPercent: cpuUs === null ? null : (cpuUs / wallUs) * 100,
    upstreamCpuUsPerReq: upUs === null || load.requests === 0 ? null : upUs / load.requests,
    loadGenCpuPercent: (selfUs / wallUs) * 100,
    otherCpuPercent: otherUs === null ? null : (otherUs / wallUs) * 100,
  }
}

async function runScenario(
  scenario: Scenario,
  live: LiveTarget[],
  upstream: ChildHandle,
  results: TargetResult[],
  options: Options,
): Promise<void> {
  const byName = new Map(results.map((r) => [r.name, r]))
  const result = (t: LiveTarget): TargetResult => byName.get(t.spec.name) as TargetResult
  const alive = (t: LiveTarget): boolean => {
    const r = result(t)
    if (r.status !== 'ok') return false
    if (t.handle.exit === undefined) return true
    r.status = 'failed'
    r.note = `process exited (${t.handle.exit}): ${logSummary(logTail(t.handle))}`
    return false
  }

  // One probe request per target: a non-2xx answer means the figures measure a rejection path.
  for (const t of live) {
    if (!alive(t)) continue
    try {
      const probe = await httpOnce({
        url: `http://127.0.0.1:${t.port}${scenario.path}`,
        method: scenario.method,
        headers: { ...scenario.headers, ...t.headers },
        body: scenario.body,
        timeoutMs: 5000,
      })
      result(t).probeStatus = probe.status
      if (probe.status < 200 || probe.status > 299) {
        result(t).note =
          `probe answered ${probe.status} (${logSummary(probe.body)}); figures measure that response`
      }
    } catch (err) {
      result(t).status = 'failed'
      result(t).note = `probe request failed: ${(err as Error).message}`
    }
  }

  if (options.warmupS > 0) {
    for (const t of live) {
      if (!alive(t)) continue
      process.stderr.write(`  warm-up  ${t.spec.name}\n`)
      await measure(t, upstream, scenario, { ...options, durationS: options.warmupS }, -1)
      trimLog(t.handle)
    }
  }

  // The baseline runs between every two other targets (B t1 B t2 B … tn B): each target's run
  // is compared with the baseline runs on either side of it, so the machine's drift cancels.
  const base = live.find((t) => t.spec.name === BASELINE)
  const others = live.filter((t) => t !== base)
  let seq = 0
  const run = async (t: LiveTarget, round: number) => {
    if (!alive(t)) return
    const sample = await measure(t, upstream, scenario, options, round, seq++)
    result(t).runs.push(sample)
    trimLog(t.handle)
    process.stderr.write(
      `  round ${round + 1}/${options.rounds}  ${t.spec.name.padEnd(18)} ` +
        `${sample.reqPerSec.toFixed(0).padStart(7)} req/s  ` +
        `${sample.cpuUsPerReq === null ? '-' : sample.cpuUsPerReq.toFixed(1)} CPU µs/req  ` +
        `load-gen ${sample.loadGenCpuPercent.toFixed(0)}% CPU  ` +
        `other ${sample.otherCpuPercent === null ? '-' : sample.otherCpuPercent.toFixed(0)}% CPU\n`,
    )
    await sleep(200)
  }
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order every round so no target always runs first (or right after another).
    const order = others.map((_, i) => others[(i + round) % others.length]!)
    if (round === 0 && base) await run(base, round)
    for (const t of order) {
      await run(t, round)
      if (base) await run(base, round)
    }
    if (!base && order.length === 0) break
  }

  const baselineRuns = results.find((r) => r.name === BASELINE)?.runs ?? []
  for (const r of results) {
    if (r.runs.length === 0) continue
    r.summary = summarise(r.runs, baselineRuns)
    const statuses = new Map<string, number>()
    let total = 0
    for (const run of r.runs) {
      for (const [code, count] of Object.entries(run.statusCodes)) {
        statuses.set(code, (statuses.get(code) ?? 0) + count)
        total += count
      }
    }
    const bad = [...statuses].filter(([code]) => !code.startsWith('2'))
    const badCount = bad.reduce((sum, [, count]) => sum + count, 0)
    if (badCount > 0) {
      const codes = bad.map(([code, count]) => `${code}×${count}`).join(', ')
      const share = ((badCount / total) * 100).toFixed(1)
      const note = `${share} % of responses were non-2xx (${codes}); figures measure that mix`
      r.note = r.note === undefined ? note : `${r.note}; ${note}`
    }
  }
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2))
  if (parsed === 'help') {
    console.log(USAGE)
    return
  }
  if (parsed === 'list') {
    console.log('targets:')
    for (const t of TARGETS) {
      const optional = t.optional === true ? ' (optional)' : ''
      console.log(`  ${t.name.padEnd(18)} ${t.description}${optional}`)
    }
    console.log('scenarios:')
    for (const s of SCENARIOS) console.log(`  ${s.name.padEnd(18)} ${s.description}`)
    return
  }
  const options = parsed
  const rootDir = findRoot()
  const tmpDir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'))
  const children: ChildHandle[] = []
  let cleaned = false
  const cleanup = async (): Promise<void> => {
    if (cleaned) return
    cleaned = true
    await Promise.all(children.map((c) => stopChild(c)))
    if (options.keepTmp) console.error(`bench: kept configs and logs in ${tmpDir}`)
    else rmSync(tmpDir, { recursive: true, force: true })
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping child processes`)
      void cleanup().finally(() => process.exit(130))
    })
  }

  try {
    const selected = TARGETS.filter((t) =>
      options.only === null ? options.all || t.optional !== true : options.only.includes(t.name),
    )
    const started = Date.now()
    const loadStart = loadavg()
    const pins = options.pin ? cpuPins() : undefined
    if (pins) {
      pinProcess(process.pid, pins.load)
      console.error(
        `bench: pinned: targets on CPU ${pins.target}, load and upstream on ${pins.load}`,
      )
    }

    // The shared upstream every proxy forwards to (also the `upstream` target).
    const upstreamStart = await startProcess(
      'upstream',
      (port) => ({
        kind: 'spawn',
        script: fileURLToPath(new URL('./upstream.js', import.meta.url)),
        args: ['--port', String(port)],
      }),
      rootDir,
      tmpDir,
      children,
      options.startupTimeoutMs,
      pins?.load,
    )
    if (upstreamStart.kind !== 'started') {
      throw new Error(`bench upstream: ${'reason' in upstreamStart ? upstreamStart.reason : ''}`)
    }
    const upstream = upstreamStart.handle
    const upstreamUrl = `http://127.0.0.1:${upstreamStart.port}`

    const live: LiveTarget[] = []
    const skipped = new Map<string, { status: 'skipped' | 'failed'; reason: string }>()
    for (const spec of selected) {
      process.stderr.write(`bench: starting ${spec.name}\n`)
      const outcome = await startProcess(
        spec.name,
        (port) =>
          spec.plan({
            rootDir,
            tmpDir,
            port,
            upstreamUrl,
            ...(pins ? { loadCpus: pins.load } : {}),
          }),
        rootDir,
        tmpDir,
        children,
        options.startupTimeoutMs,
        pins?.target,
      )
      if (outcome.kind === 'upstream') {
        live.push({ spec, handle: upstream, port: upstreamStart.port, headers: {} })
      } else if (outcome.kind === 'started') {
        const headers = outcome.plan.headers ?? {}
        live.push({ spec, handle: outcome.handle, port: outcome.port, headers })
      } else {
        skipped.set(spec.name, {
          status: outcome.kind === 'skip' ? 'skipped' : 'failed',
          reason: outcome.reason,
        })
        process.stderr.write(
          `bench: ${spec.name} ${outcome.kind === 'skip' ? 'skipped' : 'failed'}: ${outcome.reason}\n`,
        )
      }
    }

    const report = []
    for (const scenario of options.scenarios) {
      const results: TargetResult[] = selected.map((spec) => ({
        name: spec.name,
        description: spec.description,
        status: skipped.get(spec.name)?.status ?? 'ok',
        note: skipped.get(spec.name)?.reason,
        runs: [],
      }))
      console.error(
        `\nbench: scenario ${scenario.name} (${scenario.description}): ${plural(options.rounds, 'round')} × ` +
          `${plural(live.length, 'target')} × ${options.durationS} s, ${options.connections} connections, ` +
          `pipelining ${options.pipelining}`,
      )
      await runScenario(scenario, live, upstream, results, options)
      console.log(
        `\nscenario ${scenario.name}: ${scenario.description} — ${plural(options.rounds, 'round')} × ` +
          `${options.durationS} s, ${options.connections} connections, pipelining ${options.pipelining}\n`,
      )
      console.log(formatTable(results))
      report.push({ scenario, results })
    }

    const out = options.out ?? join(rootDir, 'bench', 'results', 'latest.json')
    mkdirSync(dirname(out), { recursive: true })
    const cpuList = cpus()
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          meta: {
            date: new Date(started).toISOString(),
            elapsedS: (Date.now() - started) / 1000,
            node: process.version,
            platform: `${process.platform} ${process.arch}`,
            cpus: cpuList.length,
            cpuModel: cpuList[0]?.model ?? null,
            loadavgStart: loadStart,
            loadavgEnd: loadavg(),
            clockTicksPerSecond: clockTicksPerSecond(),
            gitCommit: gitCommit(rootDir),
            options: { ...options, scenarios: options.scenarios.map((s) => s.name) },
          },
          scenarios: report,
        },
        null,
        2,
      )}\n`,
    )
    console.log(`\nresults written to ${relative(process.cwd(), out) || out}`)
  } finally {
    await cleanup()
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
