/**
 * The simulator's parts without sockets: seeded randomness, addresses, browser header sets,
 * cookies, scenario selection, answer classification, the demo's config override and the table.
 */
import { describe, expect, it } from 'vitest'
import { ConfigSpec } from '../../src/config/schema.js'
import { deepFreeze } from '../../src/config/freeze.js'
import { CookieJar } from '../../src/simulate/cookie-jar.js'
import { demoGatewayConfig } from '../../src/simulate/demo-target.js'
import { formatReport } from '../../src/simulate/format-report.js'
import { ipPool, NETWORKS } from '../../src/simulate/ip-pool.js'
import { BOT_PROFILES, HUMAN_PROFILES, profileDeck } from '../../src/simulate/profiles.js'
import type { SimulationReport } from '../../src/simulate/report.js'
import { createRng } from '../../src/simulate/rng.js'
import { selectScenarios } from '../../src/simulate/select-scenarios.js'
import { createTally } from '../../src/simulate/tally.js'

const ids = (names: string[]) => selectScenarios(names).map((s) => s.id)
const about = { id: 'x', kind: 'bot' as const, title: 'x', threat: 'OAT-007' }

describe('rng', () => {
  it('repeats itself for one seed, and forks into independent streams', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, () => createRng(seed).next())
    expect(draw(7)).toEqual(draw(7))
    const a = createRng(7)
    const fork = a.fork('office').next()
    a.next()
    expect(a.fork('office').next()).toBe(fork)
    expect(a.fork('phone').next()).not.toBe(fork)
  })
})

describe('ipPool', () => {
  it('draws host addresses inside the network, none twice until all are drawn', () => {
    const pool = ipPool('203.0.113.0/29', createRng(1))
    const drawn = Array.from({ length: 6 }, () => pool.draw())
    expect(new Set(drawn).size).toBe(6)
    for (const ip of drawn) expect(ip).toMatch(/^203\.0\.113\.[1-6]$/)
    expect(ipPool(NETWORKS.office, createRng(1)).draw()).toBe('198.51.100.10')
  })
})

describe('profiles', () => {
  it('keeps bots off every header set a person sends', () => {
    const human = new Set(HUMAN_PROFILES.map((p) => JSON.stringify(p.headers)))
    expect(human.size).toBe(HUMAN_PROFILES.length)
    for (const p of BOT_PROFILES) expect(human.has(JSON.stringify(p.headers))).toBe(false)
  })

  it('deals without repeats and honours a filter', () => {
    const deck = profileDeck(HUMAN_PROFILES, createRng(1))
    const dealt = Array.from({ length: HUMAN_PROFILES.length }, () => deck.draw().id)
    expect(new Set(dealt).size).toBe(HUMAN_PROFILES.length)
    expect(deck.draw((p) => p.mobile).mobile).toBe(true)
  })
})

describe('CookieJar', () => {
  it('keeps, replaces and expires cookies', () => {
    const jar = new CookieJar()
    expect(jar.header()).toBeUndefined()
    jar.store(['sid=a; Path=/; HttpOnly', 'theme=dark'])
    jar.store(['sid=b; Path=/'])
    expect(jar.header()).toBe('sid=b; theme=dark')
    jar.store(['theme=; Max-Age=0'])
    expect(jar.header()).toBe('sid=b')
  })
})

describe('selectScenarios', () => {
  it('picks by id, by threat id and by kind, in registry order, each once', () => {
    expect(ids([])).toHaveLength(13)
    expect(ids(['oat-008'])).toEqual([
      'credential-stuffing',
      'credential-stuffing-rotating',
      'credential-stuffing-fresh',
      'credential-stuffing-fresh-rotating',
    ])
    expect(ids(['humans'])).toEqual(['shoppers', 'office', 'phone'])
    expect(ids(['oat-011', 'office', 'scraping'])).toEqual([
      'office',
      'scraping',
      'adaptive-scraping',
    ])
    expect(ids(['bots'])).not.toContain('office')
  })

  it('names what it does not know', () => {
    expect(() => selectScenarios(['ddos'])).toThrow(
      new TypeError(
        'unknown scenario "ddos": expected one of humans, bots, shoppers, office, phone, credential-stuffing, credential-stuffing-rotating, credential-stuffing-fresh, credential-stuffing-fresh-rotating, credential-cracking, carding, scraping, vulnerability-scanning, privilege-escalation, adaptive-scraping, or an OAT id',
      ),
    )
  })
})

describe('createTally', () => {
  it('in demo mode, counts what the upstream never saw as denied, fakes included', () => {
    const t = createTally(about, true)
    t.addClient()
    t.record(t.issue(), '192.0.2.1', 'p', 401, 5, { reached: true })
    t.record(t.issue(), '192.0.2.2', 'p', 200, 5, { reached: false, rule: 'deception.fake' })
    t.record(t.issue(), '192.0.2.2', 'p', 429, 5, { reached: false, rule: 'limits.a' })
    t.record(t.issue(), '192.0.2.2', 'p', 200, 1505, { reached: true, delayMs: 1500 })
    t.record(t.issue(), '192.0.2.2', 'p', 0, 5, { reached: false })
    expect(t.report()).toMatchObject({
      clients: 1,
      ips: 2,
      sent: 5,
      reachedUpstream: 2,
      successes: 1,
      denied: 2,
      firstDenialAt: 2,
      errors: 1,
      statuses: { 0: 1, 200: 2, 401: 1, 429: 1 },
      deniedBy: { 'deception.fake': 1, 'limits.a': 1 },
      addedLatencyMs: { mean: 375, max: 1500 },
    })
  })

  it('for an external target, goes by status: 403 and 429 are denials', () => {
    const t = createTally(about, false)
    for (const status of [200, 401, 429, 403])
      t.record(t.issue(), 'ip', 'p', status, 1, { reached: undefined })
    expect(t.report()).toMatchObject({
      reachedUpstream: null,
      successes: 1,
      denied: 2,
      firstDenialAt: 3,
      deniedBy: null,
      addedLatencyMs: null,
    })
  })
})

describe('demoGatewayConfig', () => {
  it('trusts the simulator and points every upstream at the shop, leaving the loaded config alone', () => {
    const loaded = deepFreeze(
      ConfigSpec.parse({
        server: { trustedProxies: ['10.0.0.0/8'], clientIpHeader: 'forwarded' },
        upstreams: { a: { url: 'http://a.test' }, b: { url: 'http://b.test' } },
      }),
    )
    const c = demoGatewayConfig(loaded, 'http://127.0.0.1:4000')
    expect(c.server).toMatchObject({
      trustedProxies: ['10.0.0.0/8', '127.0.0.1/32'],
      clientIpHeader: 'x-forwarded-for',
    })
    expect(Object.values(c.upstreams).map((u) => u.url)).toEqual([
      'http://127.0.0.1:4000',
      'http://127.0.0.1:4000',
    ])
    expect(loaded.server.trustedProxies).toEqual(['10.0.0.0/8'])
  })
})

describe('formatReport', () => {
  it('prints one aligned row per scenario and n/a where an external target cannot tell', () => {
    const t = createTally(about, false)
    t.record(t.issue(), 'ip', 'p', 429, 3, { reached: undefined })
    const report: SimulationReport = {
      mode: 'external',
      target: 'http://127.0.0.1:8080',
      config: null,
      seed: 1,
      speed: 1,
      botHeaders: 'people',
      durationMs: 1000,
      elapsedMs: 1000,
      scenarios: [{ ...t.report(), id: 'credential-cracking' }],
      humans: { scenarios: 0, sent: 0, denied: 0, scenariosDenied: 0 },
      bots: { scenarios: 1, sent: 1, denied: 1, scenariosDenied: 1 },
    }
    const lines = formatReport(report).split('\n')
    const header = lines.find((l) => l.startsWith('scenario'))!
    const row = lines.find((l) => l.startsWith('  credential-cracking'))!
    expect(row).toMatch(/\(OAT-007\)\s+0\s+1\s+1\s+n\/a\s+0\s+1\s+1\s+n\/a\s+3$/)
    expect(row.length).toBe(header.length)
    expect(lines).toContain('bots: 1 of 1 scenarios denied, 1 of 1 requests')
    expect(lines[1]).toMatch(/seed 1, bots on people's header sets$/)
  })
})
