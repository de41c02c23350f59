import { describe, expect, it } from 'vitest'
import { progressBar, renderProgress } from '../../src/logs/progress.js'
import { table } from '../../src/logs/table.js'

function fakeStream(isTTY: boolean) {
  const writes: string[] = []
  return { writes, stream: { isTTY, columns: 100, write: (s: string) => writes.push(s) } }
}

describe('progressBar', () => {
  it('draws nothing when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false)
    const bar = progressBar({ label: 'audit', stream })
    bar.update(10, 100, 5)
    bar.finish()
    expect(writes).toEqual([])
  })

  it('draws on a terminal at most every 100 ms and clears the line when done', () => {
    const { writes, stream } = fakeStream(true)
    let t = 0
    const bar = progressBar({ label: 'audit', stream, now: () => t })
    t = 1000
    bar.update(50, 100, 500)
    t = 1050
    bar.update(60, 100, 600)
    t = 1200
    bar.update(100, 100, 1000)
    bar.finish()
    expect(writes).toHaveLength(3)
    expect(writes[0]).toBe('\r\x1b[2K' + renderProgress('audit', 50, 100, 500, 1000, 100))
    expect(writes[2]).toBe('\r\x1b[2K')
  })

  it('can be turned off on a terminal (--no-progress)', () => {
    const { writes, stream } = fakeStream(true)
    progressBar({ label: 'x', stream, enabled: false }).update(1, 2, 3)
    expect(writes).toEqual([])
  })

  it('renders a bar with percent, bytes, lines, rate and ETA, fitting the width', () => {
    const frame = renderProgress('audit', 512 << 20, 1 << 30, 2_100_000, 5000, 120)
    expect(frame).toBe(
      'audit  [' +
        '█'.repeat(15) +
        '·'.repeat(15) +
        ']   50%  512 MB / 1.0 GB  2.1M lines  420k lines/s  ETA 5s',
    )
    expect(renderProgress('replay', 2048, undefined, 40, 1000, 80)).toBe(
      'replay  2 kB  40 lines  40 lines/s',
    )
    expect(renderProgress('audit', 1, 2, 3, 1000, 20).length).toBeLessThan(20)
  })
})

describe('table', () => {
  it('pads columns, right-aligns numeric ones and cuts long cells', () => {
    expect(
      table(
        ['route', 'n', 'share'],
        [
          ['/a', 1200, '5%'],
          ['/bb', 7, '-'],
        ],
      ),
    ).toBe(['route     n  share', '/a     1200     5%', '/bb       7      -'].join('\n'))
    expect(table(['x'], [['abcdefgh']], 5)).toBe('x\nabcd…')
  })
})
