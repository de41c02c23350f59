/**
 * The proof-of-work challenge end to end through the engine: a tripped `challenge` rule answers
 * with a signed puzzle, a solved puzzle lifts that rule for one request, and every way of
 * cheating (replay, another route, expiry, tampering, too little work) is asked again.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { readChallenge, solve } from '../../src/challenge/client.js'
import { solveInNode } from '../../src/challenge/node.js'
import { proofOfWork } from '../../src/challenge/pow.js'
import { ChallengeSpec } from '../../src/challenge/spec.js'
import { lintConfig } from '../../src/config/lint.js'
import { combine } from '../../src/engine/decision.js'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import { toEffect } from '../../src/engine/effect.js'
import { corsHeadersOf } from '../../src/layers/cors/answer-headers.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw } from '../helpers/engine.js'

const SECRET = 'p'.repeat(32)

function cfg(extra: Record<string, unknown> = {}) {
  return config({
    routes: [{ path: '/api/*' }],
    challenge: { secret: SECRET, bits: 8, ttl: '1m' },
    limits: {
      rules: [
        {
          id: 'gate',
          paths: ['/api/login', '/api/other'],
          key: ['ip'],
          limit: 1,
          window: '1h',
          action: 'challenge',
        },
      ],
      headers: 'all',
    },
    ...extra,
  })
}

async function decide(engine: Engine, line: string, headers: Record<string, string> = {}) {
  const { ctx } = engine.prepare(raw(line, { headers }))
  return { ctx, decision: await engine.inspect(ctx) }
}

/** The puzzle in a challenged decision's answer. */
function puzzle(decision: Decision) {
  const effect = toEffect(decision, 'r')
  if (effect.kind !== 'respond') throw new Error(`not an answer: ${effect.kind}`)
  const c = readChallenge(JSON.parse(effect.body))
  if (!c) throw new Error(`no puzzle in ${effect.body}`)
  return { ...c, status: effect.status, headers: effect.headers }
}

function setup(now = { t: 1_700_000_000_000 }, store = new MemoryStore()) {
  return { now, engine: createEngine(cfg(), { clock: { now: () => now.t }, store }) }
}

describe('proof-of-work challenge', () => {
  it('asks a tripped client for work and lets a solved request through once', async () => {
    const { engine } = setup()
    expect((await decide(engine, 'POST /api/login')).decision.action).toBe('allow')
    const asked = await decide(engine, 'POST /api/login')
    expect(asked.decision.action).toBe('challenge')
    const p = puzzle(asked.decision)
    expect(p).toMatchObject({ status: 401, bits: 8, header: 'bulwark-pow', expiresIn: 60 })
    expect(p.headers['www-authenticate']).toContain(`Bulwark-PoW token="${p.token}"`)
    expect(p.headers['cache-control']).toBe('no-store')
    // Answer now: the limit's Retry-After would tell the client to wait instead.
    expect(p.headers['retry-after']).toBeUndefined()
    expect(asked.decision.decisive?.reason).toMatch(/proof of work asked \(no answer\)/)

    const answer = await solve(p.token, p.bits)
    const digest = createHash('sha256').update(answer).digest()
    expect(digest[0]).toBe(0) // 8 bits: the first byte is zero
    const solved = await decide(engine, 'POST /api/login', { 'bulwark-pow': answer })
    expect(solved.decision.action).toBe('log')
    const forwarded = toEffect(solved.decision, 'r')
    expect(forwarded.kind).toBe('forward')
    // The rule's quota and Retry-After are not told to a client let through: when the puzzles
    // stop is the rule's business.
    expect(Object.keys(forwarded.headers).filter((h) => /ratelimit|retry-after/.test(h))).toEqual(
      [],
    )
    expect(solved.decision.verdicts[0]).toMatchObject({
      rule: 'limits.gate',
      action: 'log',
      data: expect.objectContaining({ pow: 'solved' }),
    })

    // The same answer again: spent.
    const replay = await decide(engine, 'POST /api/login', { 'bulwark-pow': answer })
    expect(replay.decision.action).toBe('challenge')
    expect(replay.decision.decisive?.data).toMatchObject({ pow: 'answer already used' })
    await engine.close()
  })

  it('refuses an answer for another route, an expired one, a tampered one and too little work', async () => {
    const { engine, now } = setup()
    await decide(engine, 'POST /api/login')
    const p = puzzle((await decide(engine, 'POST /api/login')).decision)
    const answer = await solve(p.token, p.bits)
    const problem = async (line: string, value: string) =>
      (await decide(engine, line, { 'bulwark-pow': value })).decision.decisive?.data?.pow

    // Bound to the method and route it was handed out for.
    expect(await problem('POST /api/other', answer)).toBe(
      'not a puzzle this gateway handed out for this route',
    )
    expect(await problem('GET /api/login', answer)).toBe(
      'not a puzzle this gateway handed out for this route',
    )
    // Easier bits written into the token break its signature.
    const parts = answer.split('.')
    expect(await problem('POST /api/login', [parts[0], '1', ...parts.slice(2)].join('.'))).toBe(
      'not a puzzle this gateway handed out for this route',
    )
    // A nonce that does not give the zero bits.
    let lazy = 0
    while (createHash('sha256').update(`${p.token}.${lazy}`).digest()[0] === 0) lazy++
    expect(await problem('POST /api/login', `${p.token}.${lazy}`)).toBe('insufficient work')
    for (const junk of ['x', '....', `${p.token}.`, `${p.token}.${'9'.repeat(40)}`, 'a.b.c.d.e'])
      expect(await problem('POST /api/login', junk)).toMatch(/malformed|not a puzzle/)
    // Past its ttl (1m).
    now.t += 61_000
    expect(await problem('POST /api/login', answer)).toBe('puzzle expired')
    await engine.close()
  })

  it('asks for no work when the request is refused anyway (a ceiling behind the puzzle)', async () => {
    const ceiling = { id: 'ceiling', paths: ['/api/login'], key: ['ip'], limit: 2, window: '1h' }
    const engine = createEngine(
      cfg({
        limits: {
          rules: [
            { ...ceiling, id: 'gate', limit: 1, action: 'challenge' },
            ceiling, // throttle
          ],
        },
      }),
      { store: new MemoryStore() },
    )
    const actions: string[] = []
    for (let i = 0; i < 4; i++)
      actions.push((await decide(engine, 'POST /api/login')).decision.action)
    expect(actions).toEqual(['allow', 'challenge', 'throttle', 'throttle'])
    const d = (await decide(engine, 'POST /api/login')).decision
    const effect = toEffect(d, 'r')
    expect(effect.kind === 'respond' && effect.body).not.toContain('challenge')
    expect(d.verdicts.find((v) => v.rule === 'limits.gate')).toMatchObject({
      action: 'log',
      data: expect.objectContaining({ pow: 'refused anyway' }),
    })
    await engine.close()
  })

  it('a request answered with a puzzle is given back to the rules that counted it: its solved retry is the one counted', async () => {
    const cap = { id: 'cap', paths: ['/api/login'], key: ['ip'], limit: 3, window: '1h' }
    const engine = createEngine(
      cfg({
        limits: { rules: [{ ...cap, id: 'gate', limit: 1, action: 'challenge' }, cap] },
      }),
      { store: new MemoryStore() },
    )
    const send = async (headers: Record<string, string> = {}) => {
      const { ctx, decision } = await decide(engine, 'POST /api/login', headers)
      const effect = toEffect(decision, ctx.id)
      engine.observe(
        ctx,
        effect.kind === 'respond'
          ? { status: effect.status, ms: 0, byGateway: true }
          : { status: 200, ms: 1, byGateway: false },
        decision,
      )
      return decision
    }
    expect((await send()).action).toBe('allow') // cap: 1
    const served: string[] = []
    for (let i = 0; i < 3; i++) {
      const asked = await send()
      if (asked.action !== 'challenge') {
        served.push(asked.action)
        continue
      }
      const p = puzzle(asked)
      served.push((await send({ 'bulwark-pow': await solveInNode(p.token, p.bits) })).action)
    }
    // Two solved retries fit the cap of 3 with the first request (the puzzles were given back);
    // counting each puzzle too, the cap would have been full after one.
    expect(served).toEqual(['log', 'log', 'throttle'])
    await engine.close()
  })

  it("asks for more work while a rule's puzzles keep being solved, up to maxBits", async () => {
    const now = { t: 1_700_000_000_000 }
    const engine = createEngine(cfg({ challenge: { secret: SECRET, bits: 8, maxBits: 10 } }), {
      clock: { now: () => now.t },
      store: new MemoryStore(),
    })
    await decide(engine, 'POST /api/login')
    const bits: number[] = []
    let firstToken: string | undefined
    for (let i = 0; i < 100; i++) {
      const p = puzzle((await decide(engine, 'POST /api/login')).decision)
      bits.push(p.bits)
      firstToken ??= p.token
      const answer = await solveInNode(p.token, p.bits)
      expect(
        (await decide(engine, 'POST /api/login', { 'bulwark-pow': answer })).decision.action,
      ).toBe('log')
    }
    // The first 32 answers at the base price, then one more bit at 32, 64, 128… (capped).
    expect(bits).toEqual([...Array(32).fill(8), ...Array(32).fill(9), ...Array(36).fill(10)])
    // An old 8-bit puzzle, answered anew, dodges no escalation: two steps behind is refused.
    const early = await solveInNode(firstToken!, 8)
    expect(
      (await decide(engine, 'POST /api/login', { 'bulwark-pow': early })).decision.decisive?.data,
    ).toMatchObject({ pow: 'puzzle easier than required' })
    // The count fades (half-life 10 minutes): 100 answers count as 50, one bit more.
    now.t += 10 * 60_000
    expect(puzzle((await decide(engine, 'POST /api/login')).decision).bits).toBe(9)
    await engine.close()
  })

  it('hands one puzzle a second per path; each answer to it is its own work, spent once', async () => {
    const { engine, now } = setup()
    await decide(engine, 'POST /api/login')
    const a = puzzle((await decide(engine, 'POST /api/login')).decision)
    const b = puzzle((await decide(engine, 'POST /api/login')).decision)
    // No signature per challenged request: a flood of them costs a map lookup each.
    expect(b.token).toBe(a.token)
    const [first, second] = [await solve(a.token, a.bits), await solve(b.token, b.bits)]
    // Solvers start from a random nonce: two clients find two answers.
    expect(second).not.toBe(first)
    for (const answer of [first, second])
      expect(
        (await decide(engine, 'POST /api/login', { 'bulwark-pow': answer })).decision.action,
      ).toBe('log')
    expect(
      (await decide(engine, 'POST /api/login', { 'bulwark-pow': first })).decision.decisive?.data,
    ).toMatchObject({ pow: 'answer already used' })
    // A second later, a new puzzle.
    now.t += 1_000
    expect(puzzle((await decide(engine, 'POST /api/login')).decision).token).not.toBe(a.token)
    await engine.close()
  })

  it('counts an answer once across instances sharing a store and a secret', async () => {
    const store = new MemoryStore()
    const now = { t: 1_700_000_000_000 }
    const a = setup(now, store).engine
    const b = setup(now, store).engine
    await decide(a, 'POST /api/login')
    const p = puzzle((await decide(a, 'POST /api/login')).decision)
    const answer = await solve(p.token, p.bits)
    expect((await decide(b, 'POST /api/login', { 'bulwark-pow': answer })).decision.action).toBe(
      'log',
    )
    expect((await decide(a, 'POST /api/login', { 'bulwark-pow': answer })).decision.action).toBe(
      'challenge',
    )
    await a.close()
    await b.close()
  })

  it('leaves an auth step-up alone and does not touch monitor-mode challenges', () => {
    const pow = proofOfWork(ChallengeSpec.parse({ secret: SECRET, bits: 8 }), new MemoryStore(), {
      now: () => 0,
    })
    const ctx = { headers: {}, method: 'GET', route: { template: '/x' }, id: 'r' } as never
    const stepUp = combine([
      { action: 'challenge', rule: 'auth.admin', reason: 'step-up required', monitor: false },
      { action: 'challenge', rule: 'limits.gate', reason: 'over', monitor: false },
    ])
    expect(pow.settle(ctx, stepUp)).toBe(stepUp)
    const shadow = combine([
      { action: 'challenge', rule: 'limits.gate', reason: 'over', monitor: true },
    ])
    expect(shadow.action).toBe('allow') // so the engine never asks pow to settle it
  })

  it('fails closed when the store cannot spend the answer', async () => {
    const store = new MemoryStore()
    const now = { t: 1_700_000_000_000 }
    const engine = createEngine(cfg(), { clock: { now: () => now.t }, store })
    await decide(engine, 'POST /api/login')
    const p = puzzle((await decide(engine, 'POST /api/login')).decision)
    const answer = await solve(p.token, p.bits)
    store.flagOnce = (() => Promise.reject(new Error('redis down'))) as never
    const d = (await decide(engine, 'POST /api/login', { 'bulwark-pow': answer })).decision
    expect(d.action).toBe('challenge')
    expect(d.decisive?.data).toMatchObject({ pow: 'store unavailable' })
    await engine.close()
  })

  it('without a challenge block, challenge stays a plain 401 and the config check says so', async () => {
    const c = cfg()
    const { challenge: _, ...rest } = c
    const engine = createEngine(rest as typeof c, { store: new MemoryStore() })
    await decide(engine, 'POST /api/login')
    const d = (await decide(engine, 'POST /api/login')).decision
    const effect = toEffect(d, 'r')
    expect(effect).toMatchObject({ kind: 'respond', status: 401 })
    expect(effect.kind === 'respond' && effect.body).not.toContain('challenge')
    await engine.close()
    expect(lintConfig(rest as typeof c, undefined).warnings.join('\n')).toMatch(
      /limits\.rules\[0\] answers with action challenge, and no challenge: block is configured/,
    )
    const noSecret = cfg({ challenge: { bits: 8 } })
    expect(lintConfig(noSecret, undefined).warnings.join('\n')).toMatch(
      /challenge\.secret is not set/,
    )
  })

  it('a page on an allowed origin can read its puzzle, and the config check asks for the header', async () => {
    const cors = {
      rules: [{ paths: ['/api/*'], origins: ['https://app.example'], headers: ['content-type'] }],
    }
    const c = cfg({ cors })
    expect(lintConfig(c, undefined).warnings.join('\n')).toMatch(
      /cors\.rules\[0\]\.headers does not list "bulwark-pow"/,
    )
    const withHeader = cfg({ cors: { rules: [{ ...cors.rules[0], headers: ['bulwark-pow'] }] } })
    expect(lintConfig(withHeader, undefined).warnings.join('\n')).not.toMatch(/bulwark-pow/)

    const engine = createEngine(c, { store: new MemoryStore() })
    const origin = { origin: 'https://app.example' }
    await decide(engine, 'POST /api/login', origin)
    const { ctx, decision } = await decide(engine, 'POST /api/login', origin)
    const effect = toEffect(decision, ctx.id, corsHeadersOf(ctx))
    expect(effect).toMatchObject({ kind: 'respond', status: 401 })
    expect(effect.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(effect.kind === 'respond' && readChallenge(JSON.parse(effect.body))).toBeTruthy()
    await engine.close()
  })
})
