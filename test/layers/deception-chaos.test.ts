/**
 * Chaos answers for flagged clients: weighted statuses, delays and bodies drawn from a seeded
 * random source (distributions within tolerance), never for a client that is not flagged, and
 * gone once the flag expires. Also: the unflagged path stays synchronous on the memory store,
 * and works (and fails open) on a store that answers with promises.
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision, MaybePromise } from '../../src/engine/types.js'
import { flagKey } from '../../src/identity/flags.js'
import { compileChaos } from '../../src/layers/deception/chaos.js'
import { cryptoRandom, seededRandom } from '../../src/layers/deception/random.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { Store } from '../../src/store/store.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

const T0 = 1_800_000_000_000
const WEIGHTS = { '403': 20, '404': 30, '500': 15, '200': 35 }
const DELAY = { min: 200, max: 2_500 }

function setup(
  deception: Record<string, unknown> = {},
  store: Store = new MemoryStore(),
  extra: Record<string, unknown> = {},
) {
  let now = T0
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      ...extra,
      deception: {
        seed: 7,
        canaries: { secret: 'chaos-test-canary-secret' },
        honeypots: [{ id: 'env', paths: ['/.env'], fake: 'env' }],
        ...deception,
      },
    }),
    { clock: { now: () => now }, store },
  )
  return {
    engine,
    store,
    advance: (ms: number) => (now += ms),
    inspect(line: string, init: RawInit = {}): MaybePromise<Decision> {
      const { ctx } = engine.prepare(raw(line, init))
      return engine.inspect(ctx)
    },
  }
}

function client(n: number): RawInit {
  return {
    ip: `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}`,
    headers: { 'user-agent': `Agent/${n}` },
  }
}

/** Share of each key in `counts`. */
function shares(counts: Map<string, number>, total: number): Record<string, number> {
  return Object.fromEntries([...counts].map(([k, n]) => [k, n / total]))
}

describe('chaos: draws', () => {
  it('follows the weights, the delay range and varies the bodies (seeded, within tolerance)', () => {
    const draw = compileChaos({ weights: WEIGHTS, delay: DELAY }, seededRandom(42))
    const N = 20_000
    const statuses = new Map<string, number>()
    const bodies = new Map<number, Set<string>>()
    let delaySum = 0
    let minDelay = Infinity
    let maxDelay = -Infinity
    for (let i = 0; i < N; i++) {
      const d = draw(T0)
      if (d.forward) throw new Error('no forward weight was configured')
      statuses.set(String(d.status), (statuses.get(String(d.status)) ?? 0) + 1)
      minDelay = Math.min(minDelay, d.delayMs)
      maxDelay = Math.max(maxDelay, d.delayMs)
      delaySum += d.delayMs
      const shape = d.body.replace(/[0-9a-f]{24}/g, 'ID')
      if (!bodies.has(d.status)) bodies.set(d.status, new Set())
      bodies.get(d.status)!.add(shape)
    }
    const got = shares(statuses, N)
    for (const [status, weight] of Object.entries(WEIGHTS))
      expect(Math.abs(got[status]! - weight / 100), status).toBeLessThan(0.015)
    expect(minDelay).toBeGreaterThanOrEqual(DELAY.min)
    expect(maxDelay).toBeLessThanOrEqual(DELAY.max)
    // the whole range is used, ends included
    expect(maxDelay - minDelay).toBeGreaterThan(0.99 * (DELAY.max - DELAY.min))
    expect(Math.abs(delaySum / N - (DELAY.min + DELAY.max) / 2)).toBeLessThan(40)
    // several realistic bodies per status, JSON and HTML
    for (const status of [200, 403, 404, 500])
      expect(bodies.get(status)!.size).toBeGreaterThanOrEqual(3)
    expect([...bodies.get(404)!].some((b) => b.includes('<center>nginx</center>'))).toBe(true)
  })

  it('is reproducible from a seed, and gives fresh ids per answer', () => {
    const a = compileChaos({ weights: WEIGHTS, delay: DELAY }, seededRandom(9))
    const b = compileChaos({ weights: WEIGHTS, delay: DELAY }, seededRandom(9))
    const seqA = Array.from({ length: 50 }, () => a(T0))
    expect(Array.from({ length: 50 }, () => b(T0))).toEqual(seqA)
    const ids = seqA.flatMap((d) => (d.forward ? [] : (d.body.match(/[0-9a-f]{24}/g) ?? [])))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('can let a share of requests through to the real answer, and use any status', () => {
    const draw = compileChaos(
      { weights: { forward: 1, '429': 1, '403': 0 }, delay: { min: 0, max: 0 } },
      seededRandom(3),
    )
    const counts = new Map<string, number>()
    for (let i = 0; i < 4_000; i++) {
      const d = draw(T0)
      const k = d.forward ? 'forward' : String(d.status)
      counts.set(k, (counts.get(k) ?? 0) + 1)
      if (!d.forward && d.headers['content-type'] === 'application/json')
        expect(JSON.parse(d.body)).toMatchObject({ error: 'Too Many Requests', status: 429 })
    }
    expect([...counts.keys()].sort()).toEqual(['429', 'forward'])
    expect(Math.abs(shares(counts, 4_000).forward! - 0.5)).toBeLessThan(0.03)
  })

  it('crypto random stays in [0, 1) and spreads evenly', () => {
    const r = cryptoRandom()
    const buckets = new Array<number>(10).fill(0)
    let outside = 0
    for (let i = 0; i < 20_000; i++) {
      const x = r()
      if (x < 0 || x >= 1) outside++
      else buckets[Math.floor(x * 10)]!++
    }
    expect(outside).toBe(0)
    for (const n of buckets) expect(Math.abs(n / 20_000 - 0.1)).toBeLessThan(0.012)
  })
})

describe('chaos: flagged clients only', () => {
  it('answers a flagged client with chaos in the configured proportions', async () => {
    const t = setup({ chaos: { weights: WEIGHTS, delay: DELAY } })
    const bot = client(1)
    expect((await t.inspect('GET /.env', bot)).action).toBe('deceive')
    const N = 4_000
    const counts = new Map<string, number>()
    for (let i = 0; i < N; i++) {
      const d = await t.inspect(`GET /api/products/${i}`, bot)
      expect(d.decisive).toMatchObject({ action: 'deceive', rule: 'deception.chaos' })
      expect(d.decisive!.reason).toMatch(/^client flagged by deception\.env: chaos answer \d{3}$/)
      const s = String(d.decisive!.status)
      counts.set(s, (counts.get(s) ?? 0) + 1)
    }
    const got = shares(counts, N)
    for (const [status, weight] of Object.entries(WEIGHTS))
      expect(Math.abs(got[status]! - weight / 100), status).toBeLessThan(0.03)
  })

  it('throttles instead of chaos on the routes behavior.deceive.except names (sign-in)', async () => {
    const signIn = { behavior: { deceive: { except: ['/api/login'] } } }
    const t = setup(
      { flagTtl: '10m', chaos: { weights: { '200': 1, '403': 1 } } },
      new MemoryStore(),
      signIn,
    )
    await t.inspect('GET /.env', client(1))
    const at = async (line: string) => {
      const statuses = new Set<number>()
      for (let i = 0; i < 40; i++)
        statuses.add((await t.inspect(line, client(1))).decisive!.status!)
      return [...statuses].sort()
    }
    // Never a fake session nor a random error on a correct password: "try again later".
    const d = await t.inspect('POST /api/login', client(1))
    expect(d.decisive).toMatchObject({ rule: 'deception.chaos', action: 'throttle', status: 429 })
    expect(d.decisive!.headers).toEqual({ 'retry-after': '600' })
    expect(await at('POST /api/login')).toEqual([429])
    expect(await at('GET /api/products/1')).toEqual([200, 403])
  })

  it("shapes a fake success like the route's documented one, keeps its own bodies elsewhere", async () => {
    const contract = {
      contract: { openapi: 'examples/shop/openapi.yaml', undocumented: 'monitor' },
    }
    const t = setup({ chaos: { weights: { '200': 1 } } }, new MemoryStore(), contract)
    await t.inspect('GET /.env', client(3))
    for (let i = 1; i < 20; i++) {
      const d = await t.inspect(`GET /api/products/${i}`, client(3))
      expect(d.decisive).toMatchObject({ rule: 'deception.chaos', status: 200 })
      const product = JSON.parse(d.decisive!.body!) as Record<string, unknown>
      // The shop's Product: an id, a name of its pattern, a price in its range.
      expect(Object.keys(product)).toEqual(expect.arrayContaining(['id', 'name', 'price']))
      expect(product.name).toMatch(/^(Red|Blue|Green|Black|White|Oak|Steel|Linen|Wool|Glass) /)
    }
    // An undocumented route keeps chaos's own (generic) successes.
    const other = await t.inspect('GET /api/nowhere', client(3))
    expect(other.decisive?.body).not.toMatch(/"price"/)
  })

  it('never touches a client that is not flagged, even while others are', async () => {
    const t = setup({ chaos: { weights: { '500': 1 } } })
    await t.inspect('GET /.env', client(1))
    for (let i = 2; i < 1_002; i++) {
      const d = await t.inspect(`GET /api/products/${i}`, client(i))
      expect(d.action).toBe('allow')
      expect(d.verdicts).toEqual([])
    }
    expect((await t.inspect('GET /api/products/1', client(1))).action).toBe('deceive')
  })

  it('stops once the flag expires', async () => {
    const t = setup({ flagTtl: '5m' })
    await t.inspect('GET /.env', client(1))
    t.advance(299_999)
    expect((await t.inspect('GET /api/x', client(1))).decisive?.rule).toBe('deception.chaos')
    t.advance(1)
    expect((await t.inspect('GET /api/x', client(1))).action).toBe('allow')
  })

  it('follows flags set by other layers, on any facet (one lookup for all of them)', async () => {
    const t = setup()
    const { ctx } = t.engine.prepare(raw('GET /x', client(5)))
    t.engine.layers[0]!.check(ctx) // computes the fingerprint
    const fp = ctx.identity.fingerprint!
    const asSetBy = (net: string, fingerprint = fp) =>
      JSON.stringify({
        rule: 'contract.undocumented',
        reason: 'GET /x: path not in the contract',
        at: T0,
        expiresAt: T0 + 60_000,
        fingerprint,
        net,
      })
    // The bot's browser build was flagged on another network: on this one, not enough.
    t.store.flag(flagKey('fingerprint', fp), asSetBy('198.51.100.9'), 60_000, T0)
    expect((await t.inspect('GET /api/x', { ...client(5), ip: '192.0.2.200' })).action).toBe(
      'allow',
    )
    // This network flagged by another client (another build): two halves of two clients are
    // not one client — a person on the bot's build behind someone else's trap is left alone.
    t.store.flag(flagKey('ip', '192.0.2.200'), asSetBy('192.0.2.200', 'curl-like'), 60_000, T0)
    expect((await t.inspect('GET /api/x', { ...client(5), ip: '192.0.2.200' })).action).toBe(
      'allow',
    )
    // The same browser build flagged on this very network (the IP's flag names it): chaos.
    t.store.flag(flagKey('ip', '192.0.2.201'), asSetBy('192.0.2.201'), 60_000, T0)
    const d = await t.inspect('GET /api/x', { ...client(5), ip: '192.0.2.201' })
    expect(d.decisive).toMatchObject({ rule: 'deception.chaos' })
    expect(d.decisive!.reason).toMatch(/^client flagged by contract\.undocumented: /)
    // …and so is a fingerprint flag that names this network.
    t.store.flag(flagKey('fingerprint', fp), asSetBy('192.0.2.202'), 60_000, T0)
    const d2 = await t.inspect('GET /api/x', { ...client(5), ip: '192.0.2.202' })
    expect(d2.decisive).toMatchObject({ rule: 'deception.chaos' })
    // a flagged session is enough on its own
    t.store.flag(flagKey('session', 'sess-9'), 'behavior.penalty', 60_000, T0)
    const own = t.engine.prepare(raw('GET /api/y', { ...client(6), ip: '192.0.2.203' }))
    own.ctx.identity.session = 'sess-9'
    expect((await t.engine.inspect(own.ctx)).decisive).toMatchObject({ rule: 'deception.chaos' })
  })

  it('a trap sprung by one client does not combine with a flag another client left (red team)', async () => {
    const t = setup()
    // Client A (fingerprint Z) springs a trap on network A; client B (another build) on network B.
    await t.inspect('GET /.env', { ...client(8), ip: '203.0.113.10' })
    await t.inspect('GET /.env', { ...client(9), ip: '203.0.113.20' })
    // A newcomer with Z on network B: its build and its network are each flagged, by different
    // clients. No chaos.
    const d = await t.inspect('GET /api/x', { ...client(8), ip: '203.0.113.20' })
    expect(d.action).toBe('allow')
    // Z on network A is the trapped client's type on its network: chaos.
    expect((await t.inspect('GET /api/x', { ...client(8), ip: '203.0.113.10' })).action).toBe(
      'deceive',
    )
  })

  it('spares a client whose own device is trusted from flags on the shared facets', async () => {
    const t = setup()
    // A bot on the office NAT, with the office's browser build, springs a trap.
    await t.inspect('GET /.env', client(7))
    expect((await t.inspect('GET /api/x', client(7))).decisive?.rule).toBe('deception.chaos')
    // A colleague: same IP, same build, a device cookie known for longer than trustAfter.
    const colleague = t.engine.prepare(raw('GET /api/x', client(7)))
    colleague.ctx.identity.device = 'dev-colleague'
    colleague.ctx.identity.deviceTrusted = true
    expect((await t.engine.inspect(colleague.ctx)).action).toBe('allow')
    // A device that is trusted but was itself flagged gets no such pass.
    t.store.flag(flagKey('device', 'dev-bad'), 'deception.env', 60_000, T0)
    const flagged = t.engine.prepare(raw('GET /api/x', client(7)))
    flagged.ctx.identity.device = 'dev-bad'
    flagged.ctx.identity.deviceTrusted = true
    expect((await t.engine.inspect(flagged.ctx)).decisive?.rule).toBe('deception.chaos')
    // A new device (untrusted) on the bot's IP and build is not told apart from the bot.
    const fresh = t.engine.prepare(raw('GET /api/x', client(7)))
    fresh.ctx.identity.device = 'dev-new'
    fresh.ctx.identity.deviceTrusted = false
    expect((await t.engine.inspect(fresh.ctx)).decisive?.rule).toBe('deception.chaos')
  })

  it('leaves exempt routes alone, and does nothing when disabled', async () => {
    const t = setup({ chaos: { exempt: ['/health'] } })
    await t.inspect('GET /.env', client(1))
    expect((await t.inspect('GET /health', client(1))).action).toBe('allow')
    expect((await t.inspect('GET /api/x', client(1))).action).toBe('deceive')
    const off = setup({ chaos: { enabled: false } })
    await off.inspect('GET /.env', client(1))
    expect((await off.inspect('GET /api/x', client(1))).action).toBe('allow')
  })

  it('in monitor mode only says what it would have done', async () => {
    const t = setup({ chaos: { mode: 'monitor' } })
    await t.inspect('GET /.env', client(1))
    const d = await t.inspect('GET /api/x', client(1))
    expect(d.action).toBe('allow')
    expect(d.wouldHave).toBe('deceive')
  })
})

describe('chaos: the store', () => {
  it('keeps the unflagged path synchronous on the memory store', () => {
    const t = setup({ fields: [{ name: 'website', paths: ['/api/signup'] }] })
    const d = t.inspect('GET /api/products/1?x=1', client(1))
    expect(d).not.toBeInstanceOf(Promise)
    expect((d as Decision).action).toBe('allow')
  })

  it('works with a store that answers with promises, and fails open when it fails', async () => {
    const memory = new MemoryStore()
    let failing = false
    const asyncStore = new Proxy(memory, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver)
        if (typeof v !== 'function') return v
        return (...args: unknown[]) => {
          if (failing) return Promise.reject(new Error('store down'))
          return Promise.resolve(v.apply(target, args))
        }
      },
    }) as Store
    const t = setup({}, asyncStore)
    expect((await t.inspect('GET /.env', client(1))).action).toBe('deceive')
    await new Promise((r) => setImmediate(r)) // the flag write is not awaited by the request
    const d = t.inspect('GET /api/x', client(1))
    expect(d).toBeInstanceOf(Promise)
    expect((await d).decisive?.rule).toBe('deception.chaos')
    failing = true
    expect((await t.inspect('GET /api/x', client(1))).action).toBe('allow')
    // a trap still answers while the store is down (the flag is lost, with a notice)
    expect((await t.inspect('GET /.env', client(2))).action).toBe('deceive')
  })
})
