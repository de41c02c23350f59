/**
 * Throughput of `bulwark audit` and `bulwark replay`, in log lines per second, on a generated
 * 1M-line log in each format Bulwark reads (nginx combined, Bulwark JSON). Also measures the
 * reading stages alone (node:readline against Bulwark's chunk splitter, then parsing), so the
 * splitter's choice stays justified, and the peak heap, to show memory does not follow the log.
 *
 * Lines/s are given per wall second and per CPU second of this process: on a shared, noisy
 * machine the CPU figure is the steadier one. The reading stages run `--rounds` times,
 * alternating, and the best round of each is kept.
 *
 * Usage: `node dist/bench/logs.js [--lines 1000000] [--format nginx,bulwark] [--rounds 3] [--keep]`
 * (`npm run build` first). A separate entry from bench/run.ts, which measures the proxy.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { runAudit } from '../src/audit/audit.js'
import { loadGatewayConfig } from '../src/config/gateway-config.js'
import { lineBatches } from '../src/logs/lines.js'
import { parseLine } from '../src/logs/parse-line.js'
import { table } from '../src/logs/table.js'
import { runReplay } from '../src/replay/replay.js'
import { generateLog } from './logs-generate.js'

interface Stage {
  readonly format: string
  readonly stage: string
  readonly lines: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakHeapMb: number
}

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    format: { type: 'string', default: 'nginx,bulwark' },
    keep: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(
    'usage: node dist/bench/logs.js [--lines 1000000] [--format nginx,bulwark] [--rounds 3] [--keep]',
  )
  process.exit(0)
}
const lines = Number(values.lines)
const formats = values.format.split(',') as ('nginx' | 'bulwark')[]
const rounds = Number(values.rounds)
const root = resolve(import.meta.dirname, '../..')
// The demo config names files relative to the repository (its OpenAPI document).
process.chdir(root)
const demoConfig = join(root, 'examples/shop/bulwark.yaml')

let peak = 0
const sample = () => void (peak = Math.max(peak, process.memoryUsage().heapUsed))

async function measure(format: string, stage: string, run: () => Promise<number>): Promise<Stage> {
  global.gc?.()
  peak = process.memoryUsage().heapUsed
  const cpu = process.cpuUsage()
  const t = performance.now()
  const n = await run()
  const wallMs = performance.now() - t
  const used = process.cpuUsage(cpu)
  sample()
  const s = {
    format,
    stage,
    lines: n,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    peakHeapMb: peak / 2 ** 20,
  }
  console.error(`  ${format} ${stage}: ${rate(n, wallMs)} lines/s`)
  return s
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / ms).toLocaleString('en-US')}k`
}

const dir = await mkdtemp(join(tmpdir(), 'bulwark-bench-logs-'))
const results: Stage[] = []
try {
  const config = await loadGatewayConfig(demoConfig, {
    ...process.env,
    SHOP_URL: 'http://127.0.0.1:9',
  })
  for (const format of formats) {
    const file = join(dir, `${format}.log`)
    const t = performance.now()
    const g = await generateLog(file, { lines, format, identities: 20_000 })
    console.error(
      `generated ${g.lines.toLocaleString('en-US')} ${format} lines (${(g.bytes / 2 ** 20).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)}s`,
    )
    // The reading stages are quick: run them in alternating rounds and keep each one's best, so
    // a burst of load on a shared machine does not decide which splitter looks faster.
    const reads: Record<string, () => Promise<number>> = {
      'read: node:readline': async () => {
        let n = 0
        const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
        for await (const _ of rl) n++
        return n
      },
      'read: lineBatches': async () => {
        let n = 0
        for await (const batch of lineBatches(createReadStream(file, { highWaterMark: 1 << 16 })))
          n += batch.length
        return n
      },
      'read + parse': async () => {
        let n = 0
        for await (const batch of lineBatches(createReadStream(file, { highWaterMark: 1 << 16 })))
          for (const line of batch) parseLine(line, file, ++n)
        return n
      },
    }
    const best = new Map<string, Stage>()
    for (let r = 0; r < rounds; r++)
      for (const [stage, run] of Object.entries(reads)) {
        const m = await measure(format, stage, run)
        const b = best.get(stage)
        if (!b || m.cpuMs < b.cpuMs) best.set(stage, m)
      }
    results.push(
      ...best.values(),
      await measure(
        format,
        'audit',
        async () => (await runAudit([file], { onProgress: sample })).lines,
      ),
      await measure(
        format,
        'replay (demo config)',
        async () => (await runReplay(config, [file], { onProgress: sample })).lines,
      ),
    )
  }
} finally {
  if (!values.keep) await rm(dir, { recursive: true, force: true })
  else console.error(`logs kept in ${dir}`)
}

console.log(
  table(
    ['format', 'stage', 'lines', 'seconds', 'lines/s (wall)', 'lines/s (CPU)', 'peak heap MB'],
    results.map((r) => [
      r.format,
      r.stage,
      r.lines,
      `${(r.wallMs / 1000).toFixed(2)}`,
      Math.round((r.lines / r.wallMs) * 1000),
      Math.round((r.lines / r.cpuMs) * 1000),
      Math.round(r.peakHeapMb),
    ]),
  ),
)
