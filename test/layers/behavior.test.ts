import { describe, expect, it } from 'vitest'
import type { Decision } from '../../src/engine/types.js'
import { flagIdentity, flagKey } from '../../src/identity/flags.js'
import { buildRisk, CHROME, penaltyKeptPerNetwork, rule, setup, sid } from '../helpers/behavior.js'
import { raw } from '../helpers/engine.js'
import { toEffect } from '../../src/engine/effect.js'
import { deviceCookies } from '../../src/identity/device.js'
import { DeviceSpec } from '../../src/identity/spec.js'

/** "No checkout without a cart in the last 30 minutes." */
const CHECKOUT_NEEDS_CART = {
  id: 'checkout-needs-cart',
  paths: ['/api/checkout'],
  methods: ['POST'],
  after: { paths: ['/api/cart'], methods: ['POST'] },
  within: '30m',
}

describe('behavior: flows', () => {
  const flows = { flows: [CHECKOUT_NEEDS_CART] }

  it('checkout without a cart by the same session is a signal; with one, nothing', async () => {
    const t = setup(flows)
    const bad = await t.send('POST /api/checkout', sid('s1'))
    expect(rule(bad)).toContain('behavior.flow.checkout-needs-cart')
    expect(bad.verdicts[0]?.reason).toBe(
      'POST /api/checkout without /api/cart first (within 1800s)',
    )
    await t.send('POST /api/cart', sid('s2'))
    t.advance(60_000)
    const ok = await t.send('POST /api/checkout', sid('s2', '198.51.100.9'))
    expect(rule(ok)).not.toContain('behavior.flow.checkout-needs-cart')
  })

  it('a cart that failed, or one older than `within`, does not count', async () => {
    const t = setup(flows)
    await t.send('POST /api/cart', sid('s3'), 400)
    expect(rule(await t.send('POST /api/checkout', sid('s3')))).toContain(
      'behavior.flow.checkout-needs-cart',
    )
    await t.send('POST /api/cart', sid('s4'))
    t.advance(31 * 60_000)
    expect(rule(await t.send('POST /api/checkout', sid('s4')))).toContain(
      'behavior.flow.checkout-needs-cart',
    )
  })

  it('a flow can act directly', async () => {
    const t = setup({ flows: [{ ...flows.flows[0], action: 'block', status: 409 }] })
    const d = await t.send('POST /api/checkout', sid('s5'))
    expect(d).toMatchObject({ action: 'block', decisive: { status: 409 } })
  })

  it('with once, each earlier step unlocks one guarded request', async () => {
    const t = setup({ flows: [{ ...flows.flows[0], once: true }] })
    await t.send('POST /api/cart', sid('s7'))
    const first = await t.send('POST /api/checkout', sid('s7'))
    expect(rule(first)).not.toContain('behavior.flow.checkout-needs-cart')
    // The cart was used up by the checkout it let through: the next checkout needs another.
    t.advance(1_000)
    expect(rule(await t.send('POST /api/checkout', sid('s7')))).toContain(
      'behavior.flow.checkout-needs-cart',
    )
    await t.send('POST /api/cart', sid('s7'))
    expect(rule(await t.send('POST /api/checkout', sid('s7')))).not.toContain(
      'behavior.flow.checkout-needs-cart',
    )
    // A checkout that failed does not use the step up.
    await t.send('POST /api/cart', sid('s8'))
    await t.send('POST /api/checkout', sid('s8'), 402)
    expect(rule(await t.send('POST /api/checkout', sid('s8')))).not.toContain(
      'behavior.flow.checkout-needs-cart',
    )
  })

  it('with once, requests sent side by side cannot share one step', async () => {
    const t = setup({ flows: [{ ...flows.flows[0], once: true, action: 'block', status: 409 }] })
    await t.send('POST /api/cart', sid('s9'))
    // Six checkouts in flight at once, none answered yet: only one may use the cart.
    const inFlight = []
    for (let i = 0; i < 6; i++) {
      const { ctx } = t.engine.prepare(raw('POST /api/checkout', sid('s9')))
      ctx.identity.session = 's9'
      inFlight.push({ ctx, d: await t.engine.inspect(ctx) })
    }
    expect(inFlight.map(({ d }) => d.action)).toEqual(['allow', ...Array(5).fill('block')])
    for (const { ctx, d } of inFlight)
      t.engine.observe(
        ctx,
        { status: d.action === 'allow' ? 201 : 409, ms: 1, byGateway: d.action !== 'allow' },
        d,
      )
    // And it is spent: the next checkout needs another cart.
    expect((await t.send('POST /api/checkout', sid('s9'))).action).toBe('block')
  })

  it('with once, each earlier step counts, and only what the backend cannot have acted on gives one back', async () => {
    const t = setup({ flows: [{ ...flows.flows[0], once: true, action: 'block', status: 409 }] })
    const FLOW = 'behavior.flow.checkout-needs-cart'
    const checkout = async (status: number) =>
      rule(await t.send('POST /api/checkout', sid('s10'), status)).includes(FLOW)
        ? 'refused'
        : 'let through'
    // Two carts, two checkouts; a third has none left.
    await t.send('POST /api/cart', sid('s10'))
    t.advance(1_000)
    await t.send('POST /api/cart', sid('s10'))
    expect(await checkout(201)).toBe('let through')
    expect(await checkout(201)).toBe('let through')
    expect(await checkout(201)).toBe('refused')
    // A checkout the backend refused (4xx) gives its cart back; one that failed on the way
    // (5xx, a 504, a client that left: status 0) may have been carried out, and does not.
    for (const [status, back] of [
      [402, true],
      [500, false],
      [0, false],
    ] as const) {
      await t.send('POST /api/cart', sid('s10'))
      expect(await checkout(status)).toBe('let through')
      expect(await checkout(201), `after ${status}`).toBe(back ? 'let through' : 'refused')
    }
  })

  it('repeated violations add risk until the client is throttled', async () => {
    const t = setup(flows)
    const actions: string[] = []
    for (let i = 0; i < 6; i++) {
      actions.push((await t.send('POST /api/checkout', sid('s6'))).action)
      t.advance(25_000)
    }
    expect(actions).toContain('throttle')
  })
})

describe('behavior: signals and risk', () => {
  it('a metronome script is caught by timing regularity; a person is not', async () => {
    const t = setup()
    const bot: Decision[] = []
    for (let i = 0; i < 120; i++) {
      bot.push(await t.send(`GET /api/search?q=${i}`, sid('bot')))
      t.advance(500)
    }
    const last = bot[bot.length - 1]!
    expect(last.action).not.toBe('allow')
    expect(JSON.stringify(last.verdicts)).toContain('regularity')

    // a person (elsewhere: on the bot's penalised build, a new session would not be their
    // own yet): irregular think times (seeded), same number of requests
    const t2 = setup()
    let seed = 7
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    const person: Decision[] = []
    for (let i = 0; i < 120; i++) {
      person.push(await t2.send(`GET /api/search?q=${i}`, sid('person', '198.51.100.20')))
      t2.advance(300 + Math.floor(-Math.log(rnd()) * 2500))
    }
    expect(person.every((d) => d.action === 'allow')).toBe(true)
  })

  it("a partner's integration with an API key may keep a steady pace", async () => {
    const t = setup({}, { identity: { apiKey: { header: 'x-api-key' } } })
    const decisions: Decision[] = []
    for (let i = 0; i < 120; i++) {
      decisions.push(
        await t.send(`GET /api/search?q=${i}`, { headers: { 'x-api-key': 'partner-key-1' } }),
      )
      t.advance(200)
    }
    expect(JSON.stringify(decisions.map((d) => d.verdicts))).not.toContain('regularity')
    expect(decisions.every((d) => d.action === 'allow')).toBe(true)
  })

  it('a new junk API key per request buys a script neither a fresh tracker nor the pass', async () => {
    // Nothing verifies a key: only one used again is a program's own identity.
    const run = async (key: (i: number) => string) => {
      const t = setup({}, { identity: { apiKey: { header: 'x-api-key' } } })
      const verdicts: string[] = []
      for (let i = 0; i < 120; i++) {
        const headers = { 'user-agent': 'python-requests/2.31', 'x-api-key': key(i) }
        const d = await t.send(`GET /api/search?q=${i}`, { headers })
        verdicts.push(...d.verdicts.map((v) => v.reason))
        t.advance(500)
      }
      return verdicts.join('\n')
    }
    // Tracked as what it is, one fingerprint on one IP: its metronome pace shows.
    expect(await run((i) => `junk-${i}`)).toMatch(/regularity/)
    // One key, used steadily: a partner's integration keeps its pass.
    expect(await run(() => 'partner-key-1')).not.toMatch(/regularity/)
  })

  it('sweeping sequential ids adds risk, and it follows the session across IPs', async () => {
    const t = setup()
    let d: Decision | undefined
    for (let id = 1; id <= 60; id++) {
      d = await t.send(`GET /api/products/${id}`, sid('sweeper', `10.0.${id}.1`))
      t.advance(1_300 + (id % 7) * 311)
    }
    expect(d!.action).not.toBe('allow')
    expect(d!.verdicts.at(-1)?.data).toMatchObject({ signals: expect.objectContaining({}) })
    expect(d!.verdicts.at(-1)?.reason).toMatch(/risk of session sweeper/)
  })

  it('what a client shares is one budget: risk and a trap flag on shared facets stay within sharedFacetCap (red team)', async () => {
    const t = setup({ thresholds: [{ score: 40, action: 'log' }] })
    // A person whose session was seen before the trouble (so it is their own).
    await t.send('GET /api/products', sid('own-session', '198.51.100.61'))
    // Bots on the stock Chrome build ran up its risk and sprang a trap with it.
    const { ctx } = t.engine.prepare(raw('GET /x', { headers: CHROME, ip: '192.0.2.60' }))
    await t.engine.inspect(ctx)
    const fp = ctx.identity.fingerprint!
    await t.store.addScore(`risk:fingerprint:${fp}`, 500, 600_000, t.now())
    flagIdentity(
      t.store,
      { ...ctx.identity, ip: '', ipPrefix: '' },
      'deception.t',
      'honeypot',
      60_000,
      t.now(),
      ctx.identity,
    )
    // A person with a session of their own on that build, elsewhere: the build's risk and its
    // trap together count at most 30 (was 30 + 30 = 60, over the log threshold at once).
    const person = await t.send('GET /api/products', sid('own-session', '198.51.100.61'))
    expect(person.action).toBe('allow')
    expect(person.verdicts).toEqual([])
    // A trap on the person's own session still counts in full.
    flagIdentity(
      t.store,
      { ip: '', ipPrefix: '', ipSource: 'socket', ipHop: 0, session: 'own-session' },
      'deception.t',
      'honeypot',
      60_000,
      t.now(),
      { ip: '', ipPrefix: '', ipSource: 'socket', ipHop: 0, session: 'own-session' },
    )
    const trapped = await t.send('GET /api/products', sid('own-session', '198.51.100.61'))
    expect(trapped.decisive?.data).toMatchObject({ signals: { trap: 100 } })
  })

  it('a session or API key nothing has seen clean does not shield: a new random one per request leaves the penalty on (red team)', async () => {
    // A script sweeping ids from one IP and one header set is penalised on its fingerprint.
    const t = setup(
      {},
      { identity: { session: { cookie: 'sid' }, apiKey: { header: 'x-api-key' } } },
    )
    const bot = (i: number, extra: Record<string, string> = {}) =>
      t.send(`GET /api/products/${i}`, { headers: { ...CHROME, ...extra }, ip: '192.0.2.80' })
    let i = 1
    for (; i < 200; i++) {
      const d = await bot(i)
      t.advance(700)
      if (d.decisive?.rule.startsWith('behavior.penalty')) break
    }
    expect(i).toBeLessThan(200)
    expect((await bot(++i)).action).not.toBe('allow')
    // A new random session cookie or API key with every request, or one sent twice: refused.
    const actions: string[] = []
    for (let n = 0; n < 10; n++) {
      const extras: Record<string, string>[] = [
        { cookie: `sid=junk-${n}` },
        { 'x-api-key': `junk-${n}` },
      ]
      for (const extra of extras) {
        actions.push((await bot(++i, extra)).action)
        actions.push((await bot(++i, extra)).action)
      }
      t.advance(700)
    }
    expect(actions).toHaveLength(40)
    expect(actions.filter((a) => a === 'allow')).toEqual([])
  })

  it('a session made clean with another header set does not shield the penalised one (red team)', async () => {
    const t = setup({ thresholds: [{ score: 60, action: 'throttle', for: '5m' }] })
    const firefox = {
      ...CHROME,
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    }
    // The bot mints sessions with clean requests from other addresses and header sets...
    for (let n = 0; n < 3; n++)
      expect(
        (
          await t.send('GET /api/products', {
            headers: { ...firefox, cookie: `sid=m${n}` },
            ip: `198.51.100.${90 + n}`,
          })
        ).action,
      ).toBe('allow')
    // ...while its own header set carries the risk, on its network.
    const { ctx } = t.engine.prepare(raw('GET /x', { headers: CHROME, ip: '192.0.2.60' }))
    await t.engine.inspect(ctx)
    await buildRisk(t.store, ctx.identity.fingerprint!, '192.0.2.60', 400, t.now())
    for (let n = 0; n < 3; n++)
      expect(
        (
          await t.send('GET /api/products', {
            headers: { ...CHROME, cookie: `sid=m${n}` },
            ip: '192.0.2.60',
          })
        ).action,
      ).toBe('throttle')
  })

  it('a session seen clean before its build was penalised shields; one new while it is, not until the risk is gone', async () => {
    const t = setup({ thresholds: [{ score: 60, action: 'throttle', for: '5m' }] })
    const at = (s: string) => ({ headers: { ...CHROME, cookie: `sid=${s}` }, ip: '198.51.100.70' })
    // A person's session, seen on a clean request.
    const first = await t.send('GET /api/products', at('before'))
    expect(first.action).toBe('allow')
    // Bots on the same build, behind the same address, ran its risk up.
    const { ctx } = t.engine.prepare(raw('GET /x', { headers: CHROME, ip: '192.0.2.60' }))
    await t.engine.inspect(ctx)
    await buildRisk(t.store, ctx.identity.fingerprint!, '198.51.100.70', 400, t.now())
    t.advance(1_000)
    // The person's own session: the build's risk is capped for them.
    expect((await t.send('GET /api/products', at('before'))).action).toBe('allow')
    // A session new now: judged as the build on its IP (the throttle), also when sent again...
    expect((await t.send('GET /api/products', at('new'))).action).toBe('throttle')
    expect((await t.send('GET /api/products', at('new'))).action).toBe('throttle')
    // ...until the penalty is over and the build's risk has decayed.
    t.advance(2 * 60 * 60_000)
    expect((await t.send('GET /api/products', at('new'))).action).toBe('allow')
    // From then on it is the client's own.
    await buildRisk(t.store, ctx.identity.fingerprint!, '198.51.100.70', 400, t.now())
    expect((await t.send('GET /api/products', at('new'))).action).toBe('allow')
  })

  it('mostly 404s (endpoint exploration) is a signal', async () => {
    const t = setup()
    let d: Decision | undefined
    for (let i = 0; i < 80; i++) {
      d = await t.send(`GET /api/guess-${i}`, sid('scanner'), 404)
      t.advance(900 + (i % 5) * 400)
    }
    expect(d!.action).not.toBe('allow')
  })

  it('a trap flag counts by the weight of its facet', async () => {
    const t = setup()
    const { ctx } = t.engine.prepare(
      raw('GET /x', { headers: { ...CHROME, cookie: 'sid=trapped' }, ip: '192.0.2.50' }),
    )
    ctx.identity.session = 'trapped'
    flagIdentity(t.store, ctx.identity, 'deception.test', 'honeypot', 60_000, t.now(), ctx.identity)
    const d = await t.send('GET /api/products', sid('trapped', '192.0.2.51'))
    expect(d.action).toBe('throttle')
    expect(d.decisive?.data).toMatchObject({ signals: { trap: 100 } })
    // someone else behind the same IP (different session, different browser) only shares the IP's small weight
    const other = await t.send('GET /api/products', {
      headers: { cookie: 'sid=colleague', 'user-agent': 'Mozilla/5.0 (Macintosh) Firefox/133.0' },
      ip: '192.0.2.50',
    })
    expect(other.action).toBe('allow')
  })

  it('tool user agents and contradictory browser headers add per-request weight only', async () => {
    const t = setup()
    const curl = await t.send('GET /x', { headers: { 'user-agent': 'curl/8.5.0' } })
    expect(curl.action).toBe('allow')
    const fake = await t.send('GET /x', {
      headers: {
        'accept-language': undefined as unknown as string,
        'user-agent': CHROME['user-agent'],
      },
    })
    expect(fake.action).toBe('allow')
  })

  it('a deceived client gets a fake success that looks like one, not an error body', async () => {
    const t = setup()
    await t.store.addScore('risk:session:liar', 160, 600_000, t.now())
    const bodies = []
    for (let i = 0; i < 2; i++) {
      const d = await t.send('POST /api/login', sid('liar'))
      expect(d.action).toBe('deceive')
      const v = d.verdicts.find((x) => x.action === 'deceive')!
      expect(v.headers).toMatchObject({ 'content-type': 'application/json' })
      bodies.push(JSON.parse(v.body!))
    }
    for (const b of bodies)
      expect(b).toEqual({ success: true, id: expect.stringMatching(/^[0-9a-f]{24}$/) })
    expect(bodies[0].id).not.toBe(bodies[1].id)
  })

  it('does not deceive on the routes deceive.except names: the refusal instead, there only', async () => {
    const t = setup({ deceive: { except: ['/api/login', '/api/signup'] } })
    // Past the deceive threshold (150): on sign-in a 429 the person can wait out, not a fake
    // session; its penalty is a deceive's, so the other routes still get fakes.
    await t.store.addScore('risk:session:shared', 160, 600_000, t.now())
    const login = await t.send('POST /api/login', sid('shared'))
    expect(login.action).toBe('throttle')
    expect(login.decisive?.rule).toBe('behavior.risk')
    expect(toEffect(login, 'r1')).toMatchObject({ kind: 'respond', status: 429 })
    expect(login.decisive?.reason).toMatch(
      /^risk 160 ≥ 150: .*; throttle instead of deceive on this route \(deceive\.except\)$/,
    )
    expect(login.decisive?.body).toBeUndefined()
    expect((await t.send('GET /api/orders', sid('shared'))).action).toBe('deceive')
    // The penalty it earned holds after the risk decays below the threshold: a deceive
    // elsewhere, the refusal on the excepted routes (any method, case folded as the config's).
    t.advance(12 * 60_000)
    const later = await t.send('POST /API/Login/', sid('shared'))
    expect(later).toMatchObject({
      action: 'throttle',
      decisive: { rule: 'behavior.penalty.deceive' },
    })
    expect((await t.send('GET /api/orders', sid('shared'))).action).toBe('deceive')
    // instead: block, for a sign-up a bot must not get through at all.
    const strict = setup({ deceive: { except: ['/api/signup'], instead: 'block' } })
    await strict.store.addScore('risk:session:bot', 160, 600_000, strict.now())
    expect((await strict.send('POST /api/signup', sid('bot'))).action).toBe('block')
    expect((await strict.send('POST /api/login', sid('bot'))).action).toBe('deceive')
  })

  it('risk decays: a client that stops misbehaving recovers, and penalties expire', async () => {
    const t = setup({ halfLife: '5m' })
    for (let i = 0; i < 150; i++) {
      await t.send(`GET /api/search?q=${i}`, sid('reformed'))
      t.advance(400)
    }
    expect((await t.send('GET /api/search', sid('reformed'))).action).not.toBe('allow')
    t.advance(3 * 60 * 60_000)
    expect((await t.send('GET /api/search', sid('reformed'))).action).toBe('allow')
  })
})

describe('behavior: safe for people', () => {
  it('a device known for a while is its own client: a penalty on the fingerprint it shares does not follow it', async () => {
    const secret = 'd'.repeat(32)
    const t = setup({}, { identity: { session: { cookie: 'sid' }, device: { secret } } })
    // A bot with stock Chrome headers and no cookie is blocked: 0.3 × 900 on its IP is 270, and
    // the penalty lands on every facet it showed, its (shared) fingerprint included.
    await t.store.addScore('risk:ip:198.51.100.1', 900, 10 * 60_000, t.now())
    expect((await t.send('GET /api/products/1', { ip: '198.51.100.1' })).action).toBe('block')
    const devices = deviceCookies(DeviceSpec.parse({ secret }))
    const cookieFrom = (msAgo: number) =>
      devices.read(CHROME, t.now() - msAgo).setCookie!.split(';')[0]!
    // Someone on the same Chrome build whose device has been known for 20 minutes (trusted after
    // identity.device.trustAfter, 10 minutes): untouched.
    const known = await t.send('GET /api/products/2', {
      ip: '203.0.113.40',
      headers: { cookie: cookieFrom(20 * 60_000) },
    })
    expect(['allow', 'log']).toContain(known.action)
    // A device issued a minute ago vouches for nothing (a rotating bot gets one each time):
    // judged by its shared facets, like a client without a cookie — on the bot's network, the
    // penalty its fingerprint earned there…
    const young = await t.send('GET /api/products/2', {
      ip: '198.51.100.1',
      headers: { cookie: cookieFrom(60_000) },
    })
    expect(young.action).toBe('block')
    expect(young.verdicts.map((v) => v.rule)).toContain('behavior.penalty.block')
    // …while elsewhere the build's penalty does not hold a newcomer on it: judged by the build's
    // risk, which here is nothing (red team 9: people on bots' stock header sets shut out).
    const elsewhere = await t.send('GET /api/products/2', {
      ip: '203.0.113.41',
      headers: { cookie: cookieFrom(60_000) },
    })
    expect(['allow', 'log']).toContain(elsewhere.action)
  })

  // A browser build's penalty holds on the network it was earned on. Others on that build
  // elsewhere earn their own — and must not replace it: a throttle earned on another network
  // (a person, or the bot itself from a second address) once overwrote a bot's deceive in the
  // one slot the build had, and the bot, judged by its decayed risk alone, got 429s.
  it("a browser build's penalty on one network is not replaced by one earned on another", async () => {
    await penaltyKeptPerNetwork(setup({}, { identity: { session: { cookie: 'sid' } } }))
  })

  it("reads a build's penalty stored before they were kept per network (one, naming its network)", async () => {
    const t = setup({}, { identity: { session: { cookie: 'sid' } } })
    const { ctx } = t.engine.prepare(
      raw('GET /api/products/1', { headers: CHROME, ip: '192.0.2.9' }),
    )
    await t.engine.inspect(ctx)
    const fp = ctx.identity.fingerprint!
    const old = { action: 'deceive', rule: 'behavior.penalty.deceive', until: t.now() + 60_000 }
    t.store.flag(
      `penalty:fingerprint:${fp}`,
      JSON.stringify({ ...old, net: '198.51.100.1' }),
      60_000,
      t.now(),
    )
    expect((await t.send('GET /api/products/2', { ip: '198.51.100.1' })).decisive?.rule).toBe(
      'behavior.penalty.deceive',
    )
    expect((await t.send('GET /api/products/2', { ip: '203.0.113.61' })).action).toBe('allow')
  })

  it('a trap a bot sprang on a browser build is certain on its network, weak elsewhere', async () => {
    const t = setup({}, { identity: { session: { cookie: 'sid' } } })
    const { ctx } = t.engine.prepare(
      raw('GET /api/products/1', { headers: CHROME, ip: '192.0.2.9' }),
    )
    await t.engine.inspect(ctx)
    const fp = ctx.identity.fingerprint!
    // The deception layer's flag on the fingerprint, naming the network that sprang it.
    await t.store.flag(
      flagKey('fingerprint', fp),
      JSON.stringify({
        rule: 'deception.env',
        reason: 'honeypot',
        at: t.now(),
        expiresAt: t.now() + 3_600_000,
        fingerprint: fp,
        net: '198.51.100.7',
      }),
      3_600_000,
      t.now(),
    )
    const trapOf = (d: Decision) =>
      (
        d.verdicts.find((v) => v.rule === 'behavior.risk')?.data as
          { signals: Record<string, number> } | undefined
      )?.signals.trap ?? 0
    const there = await t.send('GET /api/products/2', { headers: CHROME, ip: '198.51.100.7' })
    const elsewhere = await t.send('GET /api/products/2', { headers: CHROME, ip: '203.0.113.8' })
    expect(trapOf(there)).toBeGreaterThan(30)
    // Within the shared facets' cap (30 by default) for anyone else on that build: below the
    // first threshold here, so no verdict at all.
    expect(trapOf(elsewhere)).toBeLessThanOrEqual(30)
    expect(elsewhere.action).toBe('allow')
    expect(there.action).not.toBe('allow')
  })

  it("a browser build's risk counts in full on the network it was run up on, within the cap elsewhere", async () => {
    const t = setup()
    const FIREFOX = {
      ...CHROME,
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    }
    const visit = (ip: string, headers: Record<string, string>, path = '/api/products/9') =>
      t.send(`GET ${path}`, { ip, headers })
    // A bot on people's current Chrome build explores for endpoints (mostly 404s): the
    // build's risk climbs past every threshold through the layer's own signals.
    for (let i = 0; i < 80; i++) {
      await t.send(`GET /api/guess-${i}`, { ip: '192.0.2.40', headers: CHROME }, 404)
      t.advance(900 + (i % 5) * 400)
    }
    expect((await visit('192.0.2.40', CHROME)).action).not.toBe('allow')
    // From another address the bot starts again from the cap, as anyone on the build does.
    // A person on that build, from their own network, on a first visit: the bots' risk is
    // not theirs past the shared facets' cap (30), below any action.
    const person = await visit('203.0.113.5', CHROME)
    expect(person.action).toBe('allow')
    // A script's header set is one client's wherever it goes: its risk follows it in full.
    const SCRIPT = { 'user-agent': 'python-requests/2.32.3', accept: '*/*' }
    for (let i = 0; i < 80; i++) {
      await t.send(`GET /api/guess-s${i}`, { ip: '198.51.100.1', headers: SCRIPT }, 404)
      t.advance(900 + (i % 5) * 400)
    }
    expect((await visit('203.0.113.6', SCRIPT)).action).not.toBe('allow')
    // Firefox, which the bot never used, carries nothing anywhere.
    expect((await visit('192.0.2.40', FIREFOX)).action).toBe('allow')
    // Forgetting the build on the bot's address (the admin's unblock) clears both risks.
    const { ctx } = t.engine.prepare(raw('GET /x', { headers: CHROME, ip: '192.0.2.40' }))
    await t.engine.inspect(ctx)
    const layer = t.engine.layers.find((l) => l.name === 'behavior')!
    await layer.forget!({ fingerprint: [ctx.identity.fingerprint!], ip: ['192.0.2.40'] })
    expect((await visit('192.0.2.40', CHROME)).action).toBe('allow')
  })

  it("a request that itself does what the bots on its build do is judged by the build's whole risk", async () => {
    const t = setup({ flows: [{ ...CHECKOUT_NEEDS_CART, by: ['session', 'account'] }] })
    // Carding: card after card at checkout without a cart, a new address per attempt, on
    // people's Chrome build. Each address is new, so only the build links the attempts.
    const actions: string[] = []
    for (let i = 1; i <= 12; i++) {
      const d = await t.send('POST /api/checkout', { ip: `192.0.2.${i}`, json: { card: i } }, 402)
      actions.push(d.action)
      t.advance(300)
    }
    // The first attempts pass (the flow only logs); then each new one, itself a checkout
    // without a cart, carries the build's risk and is refused.
    expect(actions.slice(0, 2)).toEqual(['log', 'log'])
    expect(actions.slice(-4).every((a) => ['throttle', 'deceive', 'block'].includes(a))).toBe(true)
    // A person on the build browsing from a network of their own is not one of them.
    expect((await t.send('GET /api/products/4', { ip: '203.0.113.9' })).action).toBe('allow')
  })

  it("a crowd's browser build is capped even where its risk was run up (one office, one bot)", async () => {
    const secret = 'd'.repeat(32)
    const t = setup({}, { identity: { session: { cookie: 'sid' }, device: { secret } } })
    const devices = deviceCookies(DeviceSpec.parse({ secret }))
    const cookieFrom = (msAgo: number) =>
      devices.read(CHROME, t.now() - msAgo).setCookie!.split(';')[0]!
    const { ctx } = t.engine.prepare(
      raw('GET /api/products/1', { headers: CHROME, ip: '192.0.2.1' }),
    )
    await t.engine.inspect(ctx)
    // A bot behind the office's address ran up the office's Chrome build there.
    await buildRisk(t.store, ctx.identity.fingerprint!, '198.51.100.9', 900, t.now())
    const newcomer = (ip: string, cookie?: string) =>
      t.send('GET /api/products/3', { ip, headers: { ...CHROME, ...(cookie ? { cookie } : {}) } })
    // Nothing tells a newcomer in the office from the bot yet: judged by the build there.
    expect((await newcomer('198.51.100.9')).action).toBe('block')
    // Three people whose devices have been known for a while use the build...
    for (let i = 0; i < 3; i++)
      expect(['allow', 'log']).toContain(
        (await newcomer(`203.0.113.${60 + i}`, cookieFrom(20 * 60_000 + i))).action,
      )
    // ...so it is a crowd's: capped for everyone, in the office too, and the penalty the first
    // newcomer was given there holds nobody.
    expect(['allow', 'log']).toContain((await newcomer('198.51.100.9')).action)
    expect(['allow', 'log']).toContain((await newcomer('198.51.100.9', cookieFrom(60_000))).action)
  })

  it("an app's header set its signed-in users share is a crowd's too, with no cookies", async () => {
    const t = setup()
    // (send() adds the CHROME set under these: the same for every request here)
    const APP = { ...CHROME, 'user-agent': 'LoyaltyApp/4.2 (iOS 17.5)' }
    const { ctx } = t.engine.prepare(raw('GET /api/products/1', { headers: APP, ip: '192.0.2.9' }))
    await t.engine.inspect(ctx)
    await t.store.addScore(`risk:fingerprint:${ctx.identity.fingerprint}`, 900, 600_000, t.now())
    const signIn = () => t.send('POST /api/login', { ip: `203.0.113.${++n}`, headers: APP })
    let n = 90
    // Bots copied the app's headers: anyone signing in with them is refused...
    expect((await signIn()).action).toBe('block')
    // ...until three users the auth layer verified (a token's sub) are seen with them.
    for (const user of ['u1', 'u2', 'u3']) {
      const { ctx: c } = t.engine.prepare(
        raw('GET /api/products/2', { headers: APP, ip: `198.51.100.${++n}` }),
      )
      c.identity.account = user
      c.identity.accountVerified = true
      await t.engine.inspect(c)
    }
    expect(['allow', 'log']).toContain((await signIn()).action)
  })

  it("a brute force on an account is the attacker's risk, not the owner's", async () => {
    const secret = 'd'.repeat(32)
    const t = setup(
      {},
      {
        identity: {
          session: { cookie: 'sid' },
          device: { secret },
          account: [{ body: 'username', paths: ['/api/login'] }],
        },
        // (a rule on the account has the login body read)
        limits: {
          rules: [{ id: 'a', paths: ['/api/login'], key: ['account'], limit: 99, window: '1m' }],
        },
      },
    )
    // Risk run up by bots naming alice in failed logins (a login body's username is a claim).
    await t.store.addScore('risk:claim:alice', 900, 600_000, t.now())
    const devices = deviceCookies(DeviceSpec.parse({ secret }))
    const login = (ip: string, cookie?: string) =>
      t.send('POST /api/login', {
        ip,
        json: { username: 'alice' },
        headers: cookie ? { cookie } : {},
      })
    // Anyone may name alice, so that risk is capped for everyone who does — alice on her own
    // (trusted) device, and alice on a new phone without a cookie alike: the per-account limits
    // hold the brute force for as long as they are set to, not a 30-minute behaviour penalty.
    const hers = devices.read(CHROME, t.now() - 20 * 60_000).setCookie!.split(';')[0]!
    const mine = await login('198.51.100.80', hers)
    expect(['allow', 'log']).toContain(mine.action)
    const anon = await login('203.0.113.80')
    expect(['allow', 'log']).toContain(anon.action)
    expect(JSON.stringify(anon.verdicts)).not.toContain('risk of claim alice 900')
    // The account the auth layer verifies is another key: a brute force never reaches it.
    expect(await t.store.scores(['risk:account:alice'], 600_000, t.now())).toEqual([0])
  })

  it('an office of 20 people behind one IP is not punished for one bot among them', async () => {
    const t = setup()
    const office = '198.51.100.77'
    const browsers = [
      CHROME['user-agent'],
      'Mozilla/5.0 (Macintosh) Firefox/133.0',
      'Mozilla/5.0 (iPhone) Safari/605.1.15',
    ]
    let seed = 42
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    // Everyone's next request time: people think for 0.5–15 s; the bot is a metronome sweeping ids.
    const next = Array.from({ length: 21 }, (_, i) => t.now() + i * 97)
    let botId = 1
    const denied: string[] = []
    let botStopped = false
    for (let n = 0; n < 1_200; n++) {
      const who = next.indexOf(Math.min(...next))
      t.advance(Math.max(0, next[who]! - t.now()))
      if (who === 20) {
        const d = await t.send(`GET /api/products/${botId++}`, sid('office-bot', office))
        if (d.action !== 'allow' && d.action !== 'log') botStopped = true
        next[who] = t.now() + 400
      } else {
        const d = await t.send(`GET /api/products/${Math.floor(rnd() * 50) + 1}`, {
          headers: { cookie: `sid=person${who}`, 'user-agent': browsers[who % 3]! },
          ip: office,
        })
        if (d.action !== 'allow' && d.action !== 'log')
          denied.push(`person${who}: ${d.verdicts.map((v) => v.reason).join(' | ')}`)
        next[who] = t.now() + 500 + Math.floor(-Math.log(rnd()) * 4_000)
      }
    }
    expect(botStopped).toBe(true)
    expect(denied).toEqual([])
  })

  it('a phone that changes IP mid-session keeps a clean record', async () => {
    const t = setup()
    const ips = ['100.64.1.1', '100.64.1.1', '172.20.9.4', '2001:db8:4::1', '100.64.7.7']
    for (let i = 0; i < 25; i++) {
      const d = await t.send(
        `GET /api/products/${(i * 11) % 50}`,
        sid('phone', ips[i % ips.length]),
      )
      expect(d.action).toBe('allow')
      t.advance(2_000 + (i % 4) * 1_700)
    }
  })

  it('a single-page app loading twenty thumbnails at once, page after page, is not a bot', async () => {
    const t = setup()
    for (let page = 0; page < 10; page++) {
      for (let i = 0; i < 20; i++) {
        const d = await t.send(`GET /api/products/${page * 20 + i + 1}`, sid('spa'))
        expect(d.action).toBe('allow')
        t.advance(3)
      }
      t.advance(4_000 + page * 900)
    }
  })
})
