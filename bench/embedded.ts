/**
 * The embedded-mode benchmark: for each framework, the app alone, the app with Bulwark's
 * middleware (the demo's limits, identity and access rules, limits raised so nothing is
 * refused: every rule still runs), and the app with the framework's popular rate-limit plugin (one counter per IP, far
 * less work). Each app is its own process; autocannon runs here, against loopback, in
 * interleaved rounds; CPU time per request is read from /proc. Prints req/s and the ratios.
 *
 * Usage: `node dist/bench/embedded.js [--duration 2] [--rounds 5] [--connections 32]
 * [--warmup 1] [--frameworks express,fastify,node-http,hono] [--scenario get|post]
 * [--out bench/results/embedded.json]`. Takes about 1.5 minutes with the defaults.
 * @see ../docs/embedded.md#benchmark
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadGatewayConfig } from '../src/config/gateway-config.js'
import {
  DEFAULT_FRAMEWORKS,
  FRAMEWORKS,
  PLUGIN,
  targetsFor,
  type EmbeddedTarget,
  type Framework,
} from './lib/embedded-targets.js'
import { runLoad, type LoadResult } from './lib/load.js'
import { getFreePort, httpOnce } from './lib/net.js'
import {
  logTail,
  readCpuMicros,
  spawnNode,
  stopChild,
  waitForHttp,
  type ChildHandle,
} from './lib/proc.js'
import { median } from './lib/stats.js'

const SCENARIOS = {
  get: { method: 'GET', path: '/api/products/1', headers: { accept: 'application/json' } },
  post: {
    method: 'POST',
    path: '/api/login',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'not-her-password' }),
  },
} as const

interface Sample extends LoadResult {
  readonly round: number
  readonly cpuUsPerReq: number | null
}

interface Live {
  readonly target: EmbeddedTarget
  readonly handle: ChildHandle
  readonly port: number
  readonly samples: Sample[]
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '1' },
      frameworks: { type: 'string' },
      scenario: { type: 'string', default: 'get' },
      out: { type: 'string' },
    },
  })
  const frameworks = (values.frameworks?.split(',') ?? DEFAULT_FRAMEWORKS) as Framework[]
  for (const f of frameworks)
    if (!FRAMEWORKS.includes(f))
      throw new TypeError(`--frameworks: ${f} is not one of ${FRAMEWORKS.join(', ')}`)
  const scenario = values.scenario as keyof typeof SCENARIOS
  if (!(scenario in SCENARIOS)) throw new TypeError('--scenario: get or post')
  return {
    durationS: Number(values.duration),
    rounds: Number(values.rounds),
    connections: Number(values.connections),
    warmupS: Number(values.warmup),
    frameworks,
    scenario,
    out: values.out,
  }
}

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

/**
 * The demo's `identity`, `limits` and `access` blocks (its other layers are left out: this
 * compares with rate-limit plugins), every limit raised to 10⁹: every rule runs, none refuses.
 */
async function openDemoConfig(root: string, tmp: string): Promise<string> {
  const demo = await loadGatewayConfig(join(root, 'examples/shop/bulwark.yaml'), {
    SHOP_URL: 'http://127.0.0.1:9',
  })
  const open = JSON.parse(
    JSON.stringify({ identity: demo.identity, limits: demo.limits, access: demo.access }),
  ) as { limits?: { rules: { limit: number }[] } }
  for (const r of open.limits?.rules ?? []) r.limit = 1_000_000_000
  const file = join(tmp, 'bulwark-open.json')
  writeFileSync(file, JSON.stringify(open))
  return file
}

async function start(
  root: string,
  tmp: string,
  config: string,
  target: EmbeddedTarget,
): Promise<Live> {
  const port = await getFreePort()
  const handle = spawnNode({
    name: target.name,
    script: join(root, 'dist/bench/lib/embedded-app.js'),
    args: [
      '--framework',
      target.framework,
      '--variant',
      target.variant,
      '--port',
      String(port),
      '--config',
      config,
    ],
    logFile: join(tmp, `${target.name.replace(':', '-')}.log`),
  })
  if (!(await waitForHttp(handle, `http://127.0.0.1:${port}/api/products/1`, 20_000)))
    throw new Error(`${target.name} did not start: ${logTail(handle)}`)
  return { target, handle, port, samples: [] }
}

async function measure(
  live: Live,
  opts: ReturnType<typeof options>,
  durationS: number,
  round: number,
): Promise<Sample> {
  const s = SCENARIOS[opts.scenario]
  const cpu0 = readCpuMicros(live.handle.pid)
  const load = await runLoad({
    url: `http://127.0.0.1:${live.port}${s.path}`,
    method: s.method,
    headers: { ...s.headers },
    ...('body' in s ? { body: s.body } : {}),
    connections: opts.connections,
    pipelining: 1,
    durationS,
  })
  const cpu1 = readCpuMicros(live.handle.pid)
  const cpuUsPerReq =
    cpu0 === null || cpu1 === null || load.requests === 0 ? null : (cpu1 - cpu0) / load.requests
  return { ...load, round, cpuUsPerReq }
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined ? '-' : n.toFixed(digits)

/** Median over rounds of a / b, each pair taken in the same round. */
function ratio(
  a: Live | undefined,
  b: Live | undefined,
  pick: (s: Sample) => number | null,
): number | null {
  if (!a || !b) return null
  return median(
    a.samples.map((s) => {
      const other = b.samples.find((x) => x.round === s.round)
      const x = pick(s)
      const y = other ? pick(other) : null
      return x === null || y === null || y === 0 ? null : x / y
    }),
  )
}

async function main(): Promise<void> {
  const opts = options()
  const root = findRoot()
  const tmp = mkdtempSync(join(tmpdir(), 'bulwark-embedded-bench-'))
  const lives: Live[] = []
  const started = Date.now()
  try {
    const config = await openDemoConfig(root, tmp)
    const targets = targetsFor(opts.frameworks)
    for (const t of targets) lives.push(await start(root, tmp, config, t))
    const expected = opts.scenario === 'get' ? 200 : 401
    for (const l of lives) {
      const s = SCENARIOS[opts.scenario]
      const probe = await httpOnce({
        url: `http://127.0.0.1:${l.port}${s.path}`,
        method: s.method,
        headers: { ...s.headers },
        ...('body' in s ? { body: s.body } : {}),
      })
      if (probe.status !== expected)
        throw new Error(`${l.target.name} answered ${probe.status}: ${probe.body}`)
    }
    if (opts.warmupS > 0) for (const l of lives) await measure(l, opts, opts.warmupS, -1)
    for (let round = 0; round < opts.rounds; round++) {
      const order = lives.map((_, i) => lives[(i + round * 3) % lives.length]!)
      for (const l of order) {
        const s = await measure(l, opts, opts.durationS, round)
        l.samples.push(s)
        process.stderr.write(
          `  round ${round + 1}/${opts.rounds}  ${l.target.name.padEnd(18)} ${fmt(s.reqPerSec).padStart(7)} req/s  ${fmt(s.cpuUsPerReq, 1)} CPU µs/req\n`,
        )
        await sleep(100)
      }
    }
    report(lives, opts, started)
    const out = opts.out ?? join(root, 'bench/results/embedded.json')
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(
      out,
      JSON.stringify(
        {
          meta: {
            date: new Date().toISOString(),
            node: process.version,
            cpus: cpus().length,
            options: opts,
          },
          targets: lives.map((l) => ({ ...l.target, samples: l.samples })),
        },
        null,
        2,
      ),
    )
    process.stderr.write(`\nwrote ${out}\n`)
  } finally {
    await Promise.all(lives.map((l) => stopChild(l.handle)))
    rmSync(tmp, { recursive: true, force: true })
  }
}

function report(lives: Live[], opts: ReturnType<typeof options>, started: number): void {
  const get = (f: Framework, v: string) =>
    lives.find((l) => l.target.framework === f && l.target.variant === v)
  const rps = (s: Sample) => s.reqPerSec
  const cpu = (s: Sample) => s.cpuUsPerReq
  const s = SCENARIOS[opts.scenario]
  console.log(
    `\nembedded bench: ${s.method} ${s.path}, ${opts.connections} connections, ${opts.rounds} rounds × ${opts.durationS}s, ` +
      `${cpus().length} CPUs, node ${process.version}, ${Math.round((Date.now() - started) / 1000)}s\n`,
  )
  console.log(
    `${'target'.padEnd(20)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'CPU µs/req'.padStart(12)}  non2xx`,
  )
  for (const l of lives) {
    const m = (pick: (x: Sample) => number | null) => median(l.samples.map(pick))
    const non2xx = l.samples.reduce((n, x) => n + x.non2xx, 0)
    console.log(
      `${l.target.name.padEnd(20)}${fmt(m(rps)).padStart(9)}${fmt(
        m((x) => x.p50Ms),
        2,
      ).padStart(9)}${fmt(
        m((x) => x.p99Ms),
        2,
      ).padStart(9)}${fmt(m(cpu), 1).padStart(12)}  ${non2xx}`,
    )
  }
  console.log(
    `\n${'framework'.padEnd(12)}${'bulwark/alone'.padStart(22)}${'plugin/alone'.padStart(22)}${'bulwark/plugin'.padStart(22)}   plugin`,
  )
  console.log(
    `${''.padEnd(12)}${'req/s  CPU/req'.padStart(22)}${'req/s  CPU/req'.padStart(22)}${'req/s  CPU/req'.padStart(22)}`,
  )
  for (const f of opts.frameworks) {
    const [alone, bulwark, plugin] = [get(f, 'alone'), get(f, 'bulwark'), get(f, 'plugin')]
    const pair = (a: Live | undefined, b: Live | undefined) =>
      `${fmt(ratio(a, b, rps), 2)}   ${fmt(ratio(a, b, cpu), 2)}`.padStart(22)
    console.log(
      `${f.padEnd(12)}${pair(bulwark, alone)}${pair(plugin, alone)}${pair(bulwark, plugin)}   ${PLUGIN[f] ?? '(none)'}`,
    )
  }
  console.log(
    '\nRatios are medians over rounds of same-round pairs. CPU/req is the app process only; the headline on a' +
      '\nshared 2-core machine (req/s there is capped by autocannon sharing the CPUs).',
  )
}

await main()
