/**
 * The `relay` signal: a bot refused on one identity comes back on a fresh IP with fresh headers
 * and no cookies, retries what was refused and goes on. Nothing links the two identities but
 * that behaviour; the new one inherits the refused one's risk. People who happen to ask for the
 * same page must not.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Decision } from '../../src/engine/types.js'
import { CHROME, setup, sweepLimit } from '../helpers/behavior.js'
import { raw, type RawInit } from '../helpers/engine.js'

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const SAFARI =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15'

const anon = (ip: string, ua?: string): RawInit => ({
  ip,
  ...(ua ? { headers: { 'user-agent': ua } } : {}),
})

const relayed = (d: Decision) =>
  d.verdicts.some((v) => (v.data as { signals?: Record<string, number> })?.signals?.relay)

/** A first identity with some risk sweeps until the limit refuses it; returns its refusal. */
async function firstIdentity(t: ReturnType<typeof setup>) {
  // 300 points on its IP: an anonymous client is judged by its shared facets (0.3 × 300 = 90:
  // delayed, not refused, until the limit refuses product 4).
  await t.store.addScore('risk:ip:198.51.100.1', 300, 10 * 60_000, t.now())
  let d: Decision | undefined
  for (const id of [1, 2, 3, 4]) {
    d = await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))
    t.advance(200)
  }
  expect(d!.verdicts.map((v) => v.rule)).toEqual(['limits.product-sweep', 'behavior.risk'])
  expect(d!.action).toBe('throttle')
  return d!
}

describe('behavior: relay (a new identity taking over from a refused one)', () => {
  it('a fresh client that retries the refused request and goes on inherits the risk at once', async () => {
    const t = setup({}, sweepLimit)
    await firstIdentity(t)
    t.advance(2_000)
    // New IP, new browser, no cookies: retries product 4, then goes on to 5.
    const retry = await t.send('GET /api/products/4', anon('203.0.113.77', FIREFOX))
    expect(relayed(retry)).toBe(false)
    const onward = await t.send('GET /api/products/5', anon('203.0.113.77', FIREFOX))
    expect(relayed(onward)).toBe(true)
    const risk = onward.verdicts.find((v) => v.rule === 'behavior.risk')!
    // 100 for the signal + the ~90 (decaying a little) the refused identity carried.
    const signals = (risk.data as { signals: Record<string, number> }).signals
    expect(signals.relay).toBeGreaterThan(185)
    expect(signals.relay).toBeLessThan(190)
    expect(onward.action).toBe('deceive')
    expect(risk.reason).toMatch(/relay 18\d/)
    // …and it stays with the new identity: a penalty on its fingerprint on that network…
    const next = await t.send('GET /api/products/40', anon('203.0.113.77', FIREFOX))
    expect(next.action).toBe('deceive')
    expect(next.verdicts.map((v) => v.rule)).toContain('behavior.penalty.deceive')
    // …and the fingerprint's risk on any other (a penalty earned on one network does not
    // follow a browser build to the next: newcomers on it are judged by its risk alone).
    const moved = await t.send('GET /api/products/41', anon('192.0.2.200', FIREFOX))
    expect(moved.action).toBe('throttle')
    expect(moved.verdicts.map((v) => v.rule)).not.toContain('behavior.penalty.deceive')
  })

  it('one that takes over with a session cookie of its own is followed from its first request', async () => {
    const t = setup({}, sweepLimit)
    await firstIdentity(t)
    t.advance(2_000)
    // A session is a client's key from its second request on (its first is kept under the
    // fingerprint): the suspect made on the retry must go on under the session.
    const as = (ip: string) => ({ ip, headers: { 'user-agent': FIREFOX, cookie: 'sid=bbbb1111' } })
    const retry = await t.send('GET /api/products/4', as('203.0.113.78'))
    expect(relayed(retry)).toBe(false)
    const onward = await t.send('GET /api/products/5', as('203.0.113.78'))
    expect(relayed(onward)).toBe(true)
    expect(onward.action).toBe('deceive')
  })

  it('a proof-of-work puzzle is no refusal to take over from: its answer retries the very request', async () => {
    const rule = { ...sweepLimit.limits.rules[0], action: 'challenge' }
    const t = setup(
      {},
      { limits: { rules: [rule] }, challenge: { secret: 'r'.repeat(32), bits: 8 } },
    )
    await t.store.addScore('risk:ip:198.51.100.1', 300, 10 * 60_000, t.now())
    let d: Decision | undefined
    for (const id of [1, 2, 3, 4]) {
      d = await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))
      t.advance(200)
    }
    expect(d!.action).toBe('challenge')
    expect(d!.decisive?.data?.pow).toBe('no answer')
    t.advance(2_000)
    // An app that keeps no cookies looks like a new client each time: it answers the puzzle
    // (here: a new identity retrying product 4) and goes on. It is not the refused one's heir.
    await t.send('GET /api/products/4', anon('203.0.113.77', FIREFOX))
    const onward = await t.send('GET /api/products/5', anon('203.0.113.77', FIREFOX))
    expect(relayed(onward)).toBe(false)
  })

  it('so does one that retries two of its refused requests (uuids: no ids to follow)', async () => {
    const t = setup({}, { ...sweepLimit })
    await firstIdentity(t)
    await t.send('GET /api/products/5', anon('198.51.100.1')) // refused too
    const a = await t.send('GET /api/products/4', anon('203.0.113.78', SAFARI))
    const b = await t.send('GET /api/products/5', anon('203.0.113.78', SAFARI))
    expect([relayed(a), relayed(b)]).toEqual([false, true])
  })

  it('a person who happens to open the same product, then browses elsewhere, is left alone', async () => {
    const t = setup({}, sweepLimit)
    await firstIdentity(t)
    const seen: string[] = []
    for (const path of ['/api/products/4', '/api/products', '/api/products/31', '/api/cart']) {
      const d = await t.send(`GET ${path}`, anon('203.0.113.5', SAFARI))
      seen.push(d.action)
      t.advance(3_000)
    }
    expect(seen).toEqual(['allow', 'allow', 'allow', 'allow'])
  })

  it('is not a relay when the client is the refused one itself (same fingerprint, new IP)', async () => {
    const t = setup({}, sweepLimit)
    await firstIdentity(t)
    await t.send('GET /api/products/4', anon('203.0.113.9'))
    const d = await t.send('GET /api/products/5', anon('203.0.113.9'))
    expect(relayed(d)).toBe(false)
  })

  it('a phone that changes network is not a new identity, whatever it opens next', async () => {
    const t = setup({}, sweepLimit)
    // Browses first on Wi-Fi…
    await t.send('GET /api/products', anon('198.51.100.50', SAFARI))
    await firstIdentity(t)
    // …then on the carrier's network: opens the refused product and the one after it.
    await t.send('GET /api/products/4', anon('100.64.0.9', SAFARI))
    expect(relayed(await t.send('GET /api/products/5', anon('100.64.0.9', SAFARI)))).toBe(false)
  })

  it('forgets a refusal after relay.window, and only a new client can be a relay', async () => {
    const t = setup({ relay: { window: '1m', fresh: 2 } }, sweepLimit)
    await firstIdentity(t)
    t.advance(61_000)
    await t.send('GET /api/products/4', anon('203.0.113.10', FIREFOX))
    expect(relayed(await t.send('GET /api/products/5', anon('203.0.113.10', FIREFOX)))).toBe(false)

    // A client with history (more than `fresh` requests) retrying a fresh refusal: no relay.
    const u = setup({ relay: { fresh: 2 } }, sweepLimit)
    for (const p of ['/api/products', '/api/cart', '/api/products'])
      await u.send(`GET ${p}`, anon('203.0.113.11', FIREFOX))
    await firstIdentity(u)
    await u.send('GET /api/products/4', anon('203.0.113.11', FIREFOX))
    expect(relayed(await u.send('GET /api/products/5', anon('203.0.113.11', FIREFOX)))).toBe(false)
  })

  it('remembers at most relay.perClient refusals of one client per window', async () => {
    const t = setup({ relay: { perClient: 2 } }, sweepLimit)
    await firstIdentity(t) // refused on 4: remembered (1)
    for (const id of [5, 6, 7]) await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))
    // 5 remembered (2); 6 and 7 not.
    const late = await t.send('GET /api/products/7', anon('203.0.113.12', FIREFOX))
    const on = await t.send('GET /api/products/8', anon('203.0.113.12', FIREFOX))
    expect([relayed(late), relayed(on)]).toEqual([false, false])
    const early = await t.send('GET /api/products/5', anon('203.0.113.13', SAFARI))
    const on2 = await t.send('GET /api/products/6', anon('203.0.113.13', SAFARI))
    expect([relayed(early), relayed(on2)]).toEqual([false, true])
  })

  it('remembers a later refusal again once window / perClient has passed (a refilling share)', async () => {
    const t = setup({ relay: { perClient: 2 } }, sweepLimit)
    await firstIdentity(t) // refused on 4: remembered (1)
    for (const id of [5, 6]) await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))
    // 5 remembered (2), 6 not. Two and a half minutes on (5m / 2), within the window, the
    // client sweeps again and is refused on 10: remembered, where a count per window was spent.
    t.advance(150_000)
    for (const id of [7, 8, 9, 10]) await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))
    await t.send('GET /api/products/10', anon('203.0.113.14', SAFARI))
    expect(relayed(await t.send('GET /api/products/11', anon('203.0.113.14', SAFARI)))).toBe(true)
  })

  it('reads ids from the OpenAPI document when the gateway routes are coarse (/*)', async () => {
    // No templated gateway route at all: the contract layer's operation names the id.
    const t = setup(
      {},
      {
        routes: [{ path: '/*', upstream: 'app' }],
        contract: {
          openapi: fileURLToPath(new URL('../fixtures/openapi/petstore-30.yaml', import.meta.url)),
        },
        limits: {
          rules: [
            {
              id: 'pet-sweep',
              paths: ['/v1/pets/*'], // no parameter here: param:petId comes from the document
              key: ['fingerprint'],
              count: 'distinct',
              distinct: 'param:petId',
              limit: 3,
              window: '60s',
            },
          ],
        },
      },
    )
    let d: Decision | undefined
    for (const id of [1, 2, 3, 4]) d = await t.send(`GET /v1/pets/${id}`, anon('198.51.100.1'))
    expect(d!.verdicts.map((v) => v.rule)).toContain('limits.pet-sweep')
    await t.send('GET /v1/pets/4', anon('203.0.113.15', FIREFOX))
    expect(relayed(await t.send('GET /v1/pets/5', anon('203.0.113.15', FIREFOX)))).toBe(true)
  })

  it('signals.relay: 0 turns it off', async () => {
    const t = setup({ signals: { relay: 0 } }, sweepLimit)
    await firstIdentity(t)
    await t.send('GET /api/products/4', anon('203.0.113.14', FIREFOX))
    expect(relayed(await t.send('GET /api/products/5', anon('203.0.113.14', FIREFOX)))).toBe(false)
  })

  it('follows a sweep that wrapped around past the last id (next stride from its own previous id)', async () => {
    const t = setup({}, sweepLimit)
    await firstIdentity(t)
    // Retries 4, then starts over at 1 and goes on: 1 is no step of the refused sweep, 2 is.
    await t.send('GET /api/products/4', anon('203.0.113.21', FIREFOX))
    expect(relayed(await t.send('GET /api/products/1', anon('203.0.113.21', FIREFOX)))).toBe(false)
    expect(relayed(await t.send('GET /api/products/2', anon('203.0.113.21', FIREFOX)))).toBe(true)
  })

  it('confirms a suspect that takes the same small step twice, when the stride was misread', async () => {
    const t = setup({}, sweepLimit)
    await t.store.addScore('risk:ip:198.51.100.1', 300, 10 * 60_000, t.now())
    // Ids arriving out of order make the refused client's stride look like 4.
    let d: Decision | undefined
    for (const id of [1, 5, 9, 13]) {
      d = await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))
      t.advance(200)
    }
    expect(d!.action).toBe('throttle')
    await t.send('GET /api/products/13', anon('203.0.113.22', FIREFOX))
    expect(relayed(await t.send('GET /api/products/14', anon('203.0.113.22', FIREFOX)))).toBe(false)
    expect(relayed(await t.send('GET /api/products/15', anon('203.0.113.22', FIREFOX)))).toBe(true)
  })

  it('does not count deceived requests as refusals (the bot retries only what it saw refused)', async () => {
    const t = setup({ relay: { perClient: 1 } })
    // 0.3 × 600 = 180 on its IP: deceived. Fakes look like successes; nothing is retried.
    await t.store.addScore('risk:ip:198.51.100.1', 600, 10 * 60_000, t.now())
    for (const id of [1, 2]) {
      expect((await t.send(`GET /api/products/${id}`, anon('198.51.100.1'))).action).toBe('deceive')
      t.advance(200)
    }
    // Then blocked (0.3 × 900 = 270): the refusal it sees, and the one remembered.
    await t.store.addScore('risk:ip:198.51.100.1', 300, 10 * 60_000, t.now())
    expect((await t.send('GET /api/products/3', anon('198.51.100.1'))).action).toBe('block')
    t.advance(2_000)
    await t.send('GET /api/products/3', anon('203.0.113.23', FIREFOX))
    expect(relayed(await t.send('GET /api/products/4', anon('203.0.113.23', FIREFOX)))).toBe(true)
  })

  // A client that sprang a trap is answered with chaos: a 403 is one of its answers, and a bot
  // takes it for a refusal like any other — it rotates and retries. The handoff must be there.
  it('a chaos 403 for a trapped client is a refusal to take over from', async () => {
    const t = setup(
      {},
      {
        deception: {
          honeypots: [{ id: 'env', paths: ['/.env'], fake: 'env' }],
          chaos: { weights: { '403': 1 } },
        },
      },
    )
    await t.send('GET /.env', anon('198.51.100.1'))
    // Flagged: every answer is a chaos 403, which the gateway itself sends.
    const { ctx } = t.engine.prepare(
      raw('GET /api/products/4', { ...anon('198.51.100.1'), headers: { ...CHROME } }),
    )
    const d = await t.engine.inspect(ctx)
    expect([d.action, d.decisive?.status]).toEqual(['deceive', 403])
    t.engine.observe(ctx, { status: 403, ms: 1, byGateway: true }, d)
    t.advance(2_000)
    await t.send('GET /api/products/4', anon('203.0.113.26', FIREFOX))
    expect(relayed(await t.send('GET /api/products/5', anon('203.0.113.26', FIREFOX)))).toBe(true)
  })

  // An answer still on its way when the refused client moved on (its other connection) leaves
  // a new device cookie in the jar the next identity starts from: that identity carries a
  // device, and a stock header set other clients sent before. Still new: the young device is
  // first seen with these headers.
  it('a client that takes over with a cookie the refused one was just given, in stock headers, is new', async () => {
    const t = setup({}, { ...sweepLimit, identity: { device: { secret: 'd'.repeat(32) } } })
    // Safari's stock headers, sent before by other clients (no cookies: apps, scripts).
    for (const ip of ['100.64.0.1', '100.64.0.2', '100.64.0.3'])
      await t.send('GET /api/products', anon(ip, SAFARI))
    await firstIdentity(t)
    // The cookie an answer to the refused client carried (issued to its Chrome headers).
    const late = t.engine.prepare(raw('GET /api/products/5', anon('198.51.100.1')))
    const cookie = late.ctx.deviceCookie!.split(';')[0]!
    const next = { ip: '203.0.113.25', headers: { 'user-agent': SAFARI, cookie } }
    await t.send('GET /api/products/4', next)
    expect(relayed(await t.send('GET /api/products/5', next))).toBe(true)
  })

  it('with device cookies, a client without one is new even in headers seen before', async () => {
    const t = setup(
      {},
      {
        ...sweepLimit,
        identity: { session: { cookie: 'sid' }, device: { secret: 'd'.repeat(32) } },
      },
    )
    // A person on Safari browses first, and keeps the device cookie it was given.
    const first = t.engine.prepare(raw('GET /api/products', anon('198.51.100.50', SAFARI)))
    const cookie = first.ctx.deviceCookie!.split(';')[0]!
    await t.send('GET /api/products', {
      ...anon('198.51.100.50', SAFARI),
      headers: { 'user-agent': SAFARI, cookie },
    })
    await firstIdentity(t)
    // The person on another network, with its cookie: not new, whatever it opens.
    await t.send('GET /api/products/4', {
      ip: '100.64.0.9',
      headers: { 'user-agent': SAFARI, cookie },
    })
    expect(
      relayed(
        await t.send('GET /api/products/5', {
          ip: '100.64.0.9',
          headers: { 'user-agent': SAFARI, cookie },
        }),
      ),
    ).toBe(false)
    // A bot with the same Safari headers and no cookie: a new client, and a relay.
    await t.send('GET /api/products/4', anon('203.0.113.24', SAFARI))
    expect(relayed(await t.send('GET /api/products/5', anon('203.0.113.24', SAFARI)))).toBe(true)
  })
})
