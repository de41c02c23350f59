/**
 * Bounded memory: a log with many more identities than the tables may hold is read with the
 * retained heap well under the log's size, and the tables stay at their caps.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateLog } from '../../bench/logs-generate.js'
import { createAudit } from '../../src/audit/audit.js'
import { scanLogs } from '../../src/logs/scan.js'
import { createReplay } from '../../src/replay/replay.js'
import { config } from '../helpers/engine.js'
import { tempDir } from './fixtures.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const MB = 1 << 20

function heap(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

let tmp: Awaited<ReturnType<typeof tempDir>>
let file: string
let bytes: number
beforeAll(async () => {
  tmp = await tempDir('bulwark-memory-')
  file = tmp.path('big.log')
  // 200k lines from up to 1M IPs within 3 minutes: nearly every line a new identity, all active at once.
  bytes = (
    await generateLog(file, { lines: 200_000, identities: 1_000_000, spanMs: 180_000, seed: 11 })
  ).bytes
}, 60_000)
afterAll(() => tmp.cleanup())

describe('memory', () => {
  it('audit keeps its tables at their caps and retains far less than the log', async () => {
    const before = heap()
    let peak = 0
    const audit = createAudit({ maxActive: 20_000 })
    const stats = await scanLogs([file], audit.add, {
      onProgress: () => void (peak = Math.max(peak, process.memoryUsage().heapUsed)),
    })
    const retained = heap() - before
    expect(stats.records).toBeGreaterThan(199_000)
    expect(audit.activeIdentities).toBeLessThanOrEqual(20_000)
    expect(retained).toBeLessThan(16 * MB)
    expect(retained).toBeLessThan(bytes / 2)
    expect(peak - before).toBeLessThan(128 * MB)
    const report = audit.report(stats)
    expect(report.evicted).toBeGreaterThan(0)
    expect(report.identities).toBeGreaterThan(100_000)
  }, 60_000)

  it('replay holds no more state than its store allows', async () => {
    const before = heap()
    const replay = createReplay(
      config({
        store: { type: 'memory', maxKeys: 20_000 },
        limits: { rules: [{ id: 'per-ip', key: ['ip'], limit: 100, window: '60s' }] },
      }),
    )
    const stats = await scanLogs([file], replay.add)
    const retained = heap() - before
    expect(stats.records).toBeGreaterThan(199_000)
    expect(retained).toBeLessThan(16 * MB)
    await replay.close()
  }, 60_000)
})
