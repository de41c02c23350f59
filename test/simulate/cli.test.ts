/**
 * `bulwark simulate` in-process: the scenario list, refused options (exact messages, exit 1) and
 * a short JSON run against a running gateway, where only what the answers show can be counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { simulate } from '../../src/cli/simulate.js'
import type { SimulationReport } from '../../src/simulate/report.js'
import { startDemoTarget } from '../../src/simulate/demo-target.js'
import type { Target } from '../../src/simulate/target.js'

function capture() {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) },
  }
}

describe('bulwark simulate', () => {
  it('--list prints every scenario with its threat id', async () => {
    const c = capture()
    expect(await simulate({ list: true }, c.io)).toBe(0)
    expect(c.out).toHaveLength(13)
    expect(c.out).toContain(
      'credential-stuffing                 OAT-008    credential stuffing: a leaked list, a new IP per attempt',
    )
  })

  it.each([
    [{ duration: '20' }, '--duration must be a duration like 20s or 2m, got "20"'],
    [{ speed: '0' }, '--speed must be a positive number, got "0"'],
    [{ seed: 'x' }, '--seed must be an integer, got "x"'],
    [{ demo: true, target: 'http://127.0.0.1:1' }, 'give --demo or --target, not both'],
    [
      { target: 'http://example.com:8080' },
      'target example.com:8080 is not on this machine; the simulator sends attack traffic, so pass allowRemote (--allow-remote) to aim it elsewhere',
    ],
    [
      { scenarios: 'office,ddos', target: 'http://127.0.0.1:1' },
      'unknown scenario "ddos": expected one of humans, bots, shoppers, office, phone, credential-stuffing, credential-stuffing-rotating, credential-stuffing-fresh, credential-stuffing-fresh-rotating, credential-cracking, carding, scraping, vulnerability-scanning, privilege-escalation, adaptive-scraping, or an OAT id',
    ],
  ])('refuses %o', async (opts, message) => {
    const c = capture()
    expect(await simulate({ json: true, ...opts }, c.io)).toBe(1)
    expect(c.err).toEqual([`bulwark simulate: ${message}`])
  })

  describe('against a running gateway (--target)', () => {
    let gateway: Target
    beforeAll(async () => {
      gateway = await startDemoTarget()
    }, 20_000)
    afterAll(() => gateway.close())

    it('counts denials by status and leaves what it cannot know as null', async () => {
      const c = capture()
      const code = await simulate(
        { target: gateway.url, scenarios: 'OAT-007', duration: '1500ms', speed: '10', json: true },
        c.io,
      )
      expect(code).toBe(0)
      const report = JSON.parse(c.out.join('')) as SimulationReport
      expect(report).toMatchObject({ mode: 'external', target: gateway.url, config: null })
      const [s] = report.scenarios
      expect(s).toMatchObject({ id: 'credential-cracking', reachedUpstream: null, deniedBy: null })
      expect(s!.firstDenialAt!).toBeLessThanOrEqual(10)
      expect(s!.statuses['429']).toBeGreaterThan(0)
    })
  })
})
