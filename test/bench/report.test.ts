/**
 * The bench's ratios: a target's run is compared with the baseline runs just before and after
 * it, so a machine that speeds up or slows down during the bench does not show as a difference
 * between targets.
 */
import { describe, expect, it } from 'vitest'
import { summarise, type RunSample } from '../../bench/lib/report.js'

function run(seq: number, cpuUsPerReq: number, reqPerSec: number, other = 3): RunSample {
  return {
    round: 0,
    seq,
    cpuUsPerReq,
    reqPerSec,
    cpuPercent: 95,
    upstreamCpuUsPerReq: 20,
    loadGenCpuPercent: 40,
    otherCpuPercent: other,
  } as RunSample
}

describe('bench report: paired ratios', () => {
  it('compares each run with the mean of the baseline runs on either side', () => {
    // The machine got faster during the bench: baseline 100 µs, then 60 µs.
    const baseline = [run(0, 100, 10_000), run(2, 60, 16_000), run(4, 60, 16_000)]
    // A target exactly as costly as the baseline at each moment.
    const same = summarise([run(1, 80, 13_000)], baseline)
    expect(same.cpuPerReqRatio).toBeCloseTo(1, 5)
    expect(same.reqPerSecRatio).toBeCloseTo(1, 5)
    // A target 10 % costlier, measured after the change.
    const costlier = summarise([run(3, 66, 14_400)], baseline)
    expect(costlier.cpuPerReqRatio).toBeCloseTo(1.1, 5)
    expect(costlier.reqPerSecRatio).toBeCloseTo(0.9, 5)
  })

  it('uses the one neighbour there is at either end, and the median over runs', () => {
    const baseline = [run(1, 50, 20_000)]
    const s = summarise([run(0, 60, 15_000), run(2, 55, 18_000), run(3, 100, 5_000)], baseline)
    expect(s.cpuPerReqRatio).toBeCloseTo(1.2, 5)
    expect(s.cpuPerReqRatioRange).toEqual([1.1, 2])
  })

  it('leaves out the runs made while other processes competed for the machine', () => {
    // Round 2 ran beside something using a whole core: target and baseline both slowed.
    const baseline = [run(0, 50, 20_000), run(2, 100, 8_000, 105), run(4, 50, 20_000)]
    const target = [run(1, 55, 18_000), run(3, 200, 4_000, 97), run(5, 60, 16_000)]
    const s = summarise(target, baseline)
    expect(s.noisyRuns).toBe(1)
    // Each clean run against its clean neighbours only: 1.1 and 1.2.
    expect(s.cpuPerReqRatioRange).toEqual([1.1, 1.2])
    expect(s.cpuPerReqRatio).toBeCloseTo(1.15, 5)
    // A Redis target's own server (~25 %) is not noise; when every run was noisy, all count.
    expect(summarise([run(1, 55, 18_000, 25)], baseline).noisyRuns).toBe(0)
    const loud = summarise([run(1, 55, 18_000, 90), run(3, 60, 16_000, 90)], baseline)
    expect(loud.noisyRuns).toBe(0)
    expect(loud.cpuPerReqRatioRange).toEqual([1.1, 1.2])
  })
})
