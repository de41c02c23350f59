/**
 * The contract every {@link Store} passes, run once per store (undici's `cacheStoreTests` is the
 * model): the same calls with the same `now` must give the same results from every store, so the
 * numbers below are pinned exactly. Time is a fake clock (`B` plus offsets), except for flags,
 * whose expiry Redis enforces in real time.
 *
 * Called by memory.test.ts and redis.test.ts.
 * @see ../../src/store/store.ts
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { gcra } from '../../src/store/gcra.js'
import { slidingWindow } from '../../src/store/sliding-window.js'
import type { Limit, LimitResult, Store } from '../../src/store/store.js'

export interface ContractStore {
  readonly store: Store
  readonly cleanup?: () => Promise<void>
}

/** A fake "now", aligned to a minute, so windows of 60 s (and 10 s, 1 s) start on it. */
export const B = 1_800_000_000_000

const W = 60_000

/** 5 per minute: emission interval T = 12 s, burst 5. */
const G5: Limit = { algorithm: 'gcra', limit: 5, windowMs: W }
/** 10 per minute, sliding window. */
const S10: Limit = { algorithm: 'sliding-window', limit: 10, windowMs: W }

function ok(remaining: number, resetMs: number, count: number): LimitResult {
  return { allowed: true, remaining, retryAfterMs: 0, resetMs, count }
}

function denied(retryAfterMs: number, resetMs: number, count: number): LimitResult {
  return { allowed: false, remaining: 0, retryAfterMs, resetMs, count }
}

export function storeContract(name: string, make: () => Promise<ContractStore>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store
    let cleanup: (() => Promise<void>) | undefined
    /** A key unique to the running test, so runs and tests never share state. */
    let key: (suffix?: string) => string

    beforeAll(async () => {
      ;({ store, cleanup } = await make())
    })
    afterAll(async () => {
      await cleanup?.()
    })
    beforeEach(() => {
      const prefix = randomBytes(6).toString('hex')
      key = (suffix = 'k') => `limits.t-${prefix}|account:${suffix}`
    })

    const consume = async (k: string, l: Limit, now: number) => store.consume(k, l, now)
    const peek = async (k: string, l: Limit, now: number) => store.peek(k, l, now)
    const distinct = async (k: string, member: string, now: number) =>
      store.addDistinct(k, member, W, now)
    async function consumeN(n: number, k: string, l: Limit, now: number): Promise<LimitResult[]> {
      const out: LimitResult[] = []
      for (let i = 0; i < n; i++) out.push(await consume(k, l, now))
      return out
    }

    describe('gcra', () => {
      it('allows exactly the burst at once, then denies until one interval has passed', async () => {
        const k = key()
        expect(await consumeN(5, k, G5, B)).toEqual([
          ok(4, 12_000, 1),
          ok(3, 24_000, 2),
          ok(2, 36_000, 3),
          ok(1, 48_000, 4),
          ok(0, 60_000, 5),
        ])
        expect(await consume(k, G5, B)).toEqual(denied(12_000, 60_000, 6))
        // A denied request is not counted: the answer is the same.
        expect(await consume(k, G5, B + 1)).toEqual(denied(11_999, 59_999, 6))
      })

      it('honours a burst below the limit', async () => {
        const k = key()
        const l: Limit = { algorithm: 'gcra', limit: 10, windowMs: W, burst: 3 } // T = 6 s
        expect(await consumeN(4, k, l, B)).toEqual([
          ok(2, 6_000, 1),
          ok(1, 12_000, 2),
          ok(0, 18_000, 3),
          denied(6_000, 18_000, 4),
        ])
        expect((await consume(k, l, B + 5_999)).allowed).toBe(false)
        expect(await consume(k, l, B + 6_000)).toEqual(ok(0, 18_000, 3))
      })

      it('honours a burst above the limit', async () => {
        const k = key()
        const l: Limit = { algorithm: 'gcra', limit: 2, windowMs: 10_000, burst: 4 } // T = 5 s
        expect(await consumeN(5, k, l, B)).toEqual([
          ok(3, 5_000, 1),
          ok(2, 10_000, 2),
          ok(1, 15_000, 3),
          ok(0, 20_000, 4),
          denied(5_000, 20_000, 5),
        ])
      })

      it('refills one request per interval T = window / limit, not sooner', async () => {
        const k = key()
        await consumeN(5, k, G5, B)
        expect(await consume(k, G5, B + 11_999)).toEqual(denied(1, 48_001, 6))
        expect(await consume(k, G5, B + 12_000)).toEqual(ok(0, 60_000, 5))
        expect(await consume(k, G5, B + 12_000)).toEqual(denied(12_000, 60_000, 6))
        // Three intervals later: three more.
        expect(await consumeN(4, k, G5, B + 48_000)).toEqual([
          ok(2, 36_000, 3),
          ok(1, 48_000, 4),
          ok(0, 60_000, 5),
          denied(12_000, 60_000, 6),
        ])
      })

      it('is back to the full burst once the whole window has passed', async () => {
        const k = key()
        await consumeN(5, k, G5, B)
        expect(await consume(k, G5, B + 60_000)).toEqual(ok(4, 12_000, 1))
        const later = await consumeN(5, k, G5, B + 60_000)
        expect(later.map((r) => r.allowed)).toEqual([true, true, true, true, false])
      })

      it('peek says what consume would, and never counts', async () => {
        const k = key()
        expect(await peek(k, G5, B)).toEqual(ok(5, 0, 1))
        for (let i = 0; i < 10; i++) await peek(k, G5, B)
        expect(await consumeN(2, k, G5, B)).toEqual([ok(4, 12_000, 1), ok(3, 24_000, 2)])
        expect(await peek(k, G5, B)).toEqual(ok(3, 24_000, 3))
        expect(await peek(k, G5, B)).toEqual(ok(3, 24_000, 3))
        expect(await consumeN(3, k, G5, B)).toEqual([
          ok(2, 36_000, 3),
          ok(1, 48_000, 4),
          ok(0, 60_000, 5),
        ])
        expect(await peek(k, G5, B)).toEqual(denied(12_000, 60_000, 6))
        expect(await peek(k, G5, B + 12_000)).toEqual(ok(1, 48_000, 5))
        expect(await peek(k, G5, B + 12_000)).toEqual(ok(1, 48_000, 5))
        expect(await consume(k, G5, B + 12_000)).toEqual(ok(0, 60_000, 5))
      })

      it('keeps keys apart', async () => {
        await consumeN(6, key('a'), G5, B)
        expect(await consume(key('b'), G5, B)).toEqual(ok(4, 12_000, 1))
        expect((await consume(key('a'), G5, B)).allowed).toBe(false)
      })
    })

    describe('sliding window', () => {
      it('allows the limit inside one window, then denies', async () => {
        const k = key()
        const first = await consumeN(10, k, S10, B + 1_000)
        expect(first).toEqual(Array.from({ length: 10 }, (_, i) => ok(9 - i, 119_000, i + 1)))
        // Full now, and still 10 at the start of the next window (weighted 100%), so the wait is
        // the rest of this window (59 s) plus a tenth of the next (6 s).
        expect(await consume(k, S10, B + 1_000)).toEqual(denied(65_000, 119_000, 11))
        expect(await consume(k, S10, B + 30_000)).toEqual(denied(36_000, 90_000, 11))
      })

      it('retryAfterMs is honest across the window edge', async () => {
        const k = key()
        await consumeN(10, k, S10, B)
        expect(await consume(k, S10, B)).toEqual(denied(66_000, 120_000, 11))
        // Window 2 starts: the 10 of window 1 still weigh 10.
        expect(await consume(k, S10, B + 60_000)).toEqual(denied(6_000, 60_000, 11))
        const late = await consume(k, S10, B + 65_999)
        expect(late).toMatchObject({ allowed: false, resetMs: 54_001, count: 10 })
        // Exactly 1 ms; the float arithmetic may round it up to 2, never down to 0.
        expect([1, 2]).toContain(late.retryAfterMs)
        expect(await consume(k, S10, B + 66_000)).toEqual(ok(0, 114_000, 10))
      })

      it('weights the previous window by overlap: 25% in, 7.5 counted, 2 more allowed', async () => {
        const k = key()
        await consumeN(10, k, S10, B + 1_000)
        const at = B + W + 15_000
        expect(await peek(k, S10, at)).toEqual(ok(2, 45_000, 8))
        expect(await consumeN(3, k, S10, at)).toEqual([
          ok(1, 105_000, 8),
          ok(0, 105_000, 9),
          denied(3_000, 105_000, 10),
        ])
        // Half way: 5 from window 1, 2 from window 2.
        expect(await consumeN(4, k, S10, B + W + 30_000)).toEqual([
          ok(2, 90_000, 8),
          ok(1, 90_000, 9),
          ok(0, 90_000, 10),
          denied(6_000, 90_000, 11),
        ])
      })

      it('is fresh after two windows', async () => {
        const k = key()
        await consumeN(10, k, S10, B + 1_000)
        // Last ms of window 2: window 1 weighs 10/60000.
        expect(await peek(k, S10, B + 2 * W - 1)).toEqual(ok(9, 1, 1))
        expect(await peek(k, S10, B + 2 * W)).toEqual(ok(10, 0, 1))
        expect(await consume(k, S10, B + 2 * W)).toEqual(ok(9, 120_000, 1))
        expect(await consume(key('b'), S10, B + 2 * W)).toEqual(ok(9, 120_000, 1))
      })

      it('peek says what consume would, and never counts', async () => {
        const k = key()
        expect(await peek(k, S10, B + 1_000)).toEqual(ok(10, 0, 1))
        for (let i = 0; i < 20; i++) await peek(k, S10, B + 1_000)
        await consumeN(3, k, S10, B + 1_000)
        expect(await peek(k, S10, B + 1_000)).toEqual(ok(7, 119_000, 4))
        expect(await peek(k, S10, B + 1_000)).toEqual(ok(7, 119_000, 4))
        expect((await consumeN(7, k, S10, B + 1_000)).every((r) => r.allowed)).toBe(true)
        expect(await peek(k, S10, B + 1_000)).toEqual(denied(65_000, 119_000, 11))
        expect(await consume(k, S10, B + 1_000)).toEqual(denied(65_000, 119_000, 11))
      })

      it('uses window starts aligned to the epoch, not to the first request', async () => {
        const k = key()
        const l: Limit = { algorithm: 'sliding-window', limit: 2, windowMs: 10_000 }
        expect(await consumeN(3, k, l, B + 9_999)).toEqual([
          ok(1, 10_001, 1),
          ok(0, 10_001, 2),
          denied(1 + 5_000, 10_001, 3),
        ])
        // 1 ms later a new window has begun: the 2 weigh 2 * 9999/10000.
        const next = await consume(k, l, B + 10_000)
        expect(next).toEqual(denied(5_000, 10_000, 3))
      })
    })

    describe('addDistinct', () => {
      it('counts each member once per window', async () => {
        const k = key()
        const seen: number[] = []
        for (const m of ['a', 'b', 'c', 'a', 'b', 'c', 'a'])
          seen.push(await distinct(k, m, B + 1_000))
        expect(seen).toEqual([1, 2, 3, 3, 3, 3, 3])
      })

      it('weights the previous window by overlap, members seen again counted once', async () => {
        const k = key()
        for (const m of ['a', 'b', 'c']) await distinct(k, m, B + 1_000)
        // 25% into window 2: the 3 of window 1 weigh 2.25.
        expect(await distinct(k, 'd', B + W + 15_000)).toBe(1 + 2)
        // 'a' moves from window 1 to window 2: 2 current + floor(2 * 0.75)
        expect(await distinct(k, 'a', B + W + 15_000)).toBe(2 + 1)
        expect(await distinct(k, 'a', B + W + 15_000)).toBe(3)
        expect(await distinct(k, 'e', B + W + 15_000)).toBe(3 + 1)
        // 50% in: only 'c' is left of window 1, weighing 0.5.
        expect(await distinct(k, 'b', B + W + 30_000)).toBe(4 + 0)
        expect(await distinct(k, 'f', B + W + 30_000)).toBe(5)
      })

      it('counts a few dozen members exactly across the window edge', async () => {
        const k = key()
        for (let i = 0; i < 40; i++) await distinct(k, `m${i}`, B + i)
        expect(await distinct(k, 'm0', B + 30_000)).toBe(40)
        // Half way through window 2: 10 seen again and 5 new → 15 + 30 * 0.5.
        const half = B + W + 30_000
        expect(await distinct(k, 'm0', half)).toBe(1 + 19)
        for (let i = 1; i < 10; i++) await distinct(k, `m${i}`, half)
        for (let i = 0; i < 4; i++) await distinct(k, `n${i}`, half)
        expect(await distinct(k, 'n4', half)).toBe(15 + 15)
      })

      it('is fresh after two windows, and keeps keys apart', async () => {
        const k = key()
        for (const m of ['a', 'b', 'c']) await distinct(k, m, B + 1_000)
        expect(await distinct(key('other'), 'a', B + 1_000)).toBe(1)
        expect(await distinct(k, 'a', B + 2 * W + 1_000)).toBe(1)
        expect(await distinct(k, 'z', B + 2 * W + 1_000)).toBe(2)
      })
    })

    it('reset forgets every count under a key (both windows), and only that key', async () => {
      const [k, other] = [key(), key('other')]
      const now = B + W + 30_000
      await consumeN(6, k, G5, now)
      await consumeN(10, k, S10, B + 1_000)
      await consumeN(5, k, S10, now)
      for (const m of ['a', 'b', 'c']) await distinct(k, m, B + 1_000)
      await distinct(k, 'd', now)
      await consumeN(6, other, G5, now)
      expect((await peek(k, G5, now)).allowed).toBe(false)
      expect((await peek(k, S10, now)).allowed).toBe(false)
      await store.reset(k, W, now)
      expect(await peek(k, G5, now)).toEqual(ok(5, 0, 1))
      expect(await peek(k, S10, now)).toEqual(ok(10, 0, 1))
      expect(await distinct(k, 'z', now)).toBe(1)
      expect(await peek(other, G5, now)).toEqual(denied(12_000, 60_000, 6))
    })

    describe('scores', () => {
      const H = 60_000
      it('adds, decays by half each half-life, and reads several keys in order', async () => {
        const [a, b, none] = [key('a'), key('b'), key('none')]
        expect(await store.addScore(a, 40, H, B)).toBeCloseTo(40, 9)
        expect(await store.addScore(a, 10, H, B + H)).toBeCloseTo(30, 9)
        await store.addScore(b, 8, H, B)
        const [sa, sb, sn] = await store.scores([a, b, none], H, B + 2 * H)
        expect(sa).toBeCloseTo(15, 9)
        expect(sb).toBeCloseTo(2, 9)
        expect(sn).toBe(0)
      })
      it('a delta of 0 only reads', async () => {
        const k = key()
        expect(await store.addScore(k, 0, H, B)).toBe(0)
        await store.addScore(k, 100, H, B)
        expect(await store.addScore(k, 0, H, B + H)).toBeCloseTo(50, 9)
        expect(await store.addScore(k, 0, H, B + H)).toBeCloseTo(50, 9)
      })
    })

    describe('flags', () => {
      const far = 60_000

      it('reads values in the order asked, undefined when missing', async () => {
        const [a, b, c] = [key('a'), key('b'), key('c')]
        await store.flag(a, 'block', far, Date.now())
        await store.flag(b, 'deceive', far, Date.now())
        expect(await store.flagged([b, c, a], Date.now())).toEqual(['deceive', undefined, 'block'])
        expect(await store.flagged([], Date.now())).toEqual([])
      })

      it('replaces a value, and unflag removes it', async () => {
        const [a, b] = [key('a'), key('b')]
        await store.flag(a, 'one', far, Date.now())
        await store.flag(a, 'two', far, Date.now())
        await store.flag(b, 'keep', far, Date.now())
        expect(await store.flagged([a], Date.now())).toEqual(['two'])
        await store.unflag(a)
        await store.unflag(key('never-set'))
        expect(await store.flagged([a, b], Date.now())).toEqual([undefined, 'keep'])
      })

      it('flagOnce sets a flag only when it is not set, and exactly one racer wins', async () => {
        const [a, b] = [key('a'), key('b')]
        expect(await store.flagOnce(a, 'first', far, Date.now())).toBe(true)
        expect(await store.flagOnce(a, 'second', far, Date.now())).toBe(false)
        expect(await store.flagged([a], Date.now())).toEqual(['first'])
        const racers = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.flagOnce(b, `r${i}`, far, Date.now())),
        )
        expect(racers.filter(Boolean)).toHaveLength(1)
        expect(await store.flagged([b], Date.now())).toEqual([`r${racers.indexOf(true)}`])
        await store.unflag(a)
        expect(await store.flagOnce(a, 'third', far, Date.now())).toBe(true)
      })

      it('take removes a flag and returns its value, to exactly one racer', async () => {
        const [a, b] = [key('a'), key('b')]
        await store.flag(a, 'step', far, Date.now())
        expect(await store.take(a, Date.now())).toBe('step')
        expect(await store.take(a, Date.now())).toBeUndefined()
        expect(await store.flagged([a], Date.now())).toEqual([undefined])
        expect(await store.take(key('never-set'), Date.now())).toBeUndefined()
        await store.flag(b, 'one-time', far, Date.now())
        const racers = await Promise.all(Array.from({ length: 8 }, () => store.take(b, Date.now())))
        expect(racers.filter((r) => r !== undefined)).toEqual(['one-time'])
        // An expired flag is not taken.
        await store.flag(a, 'short', 30, Date.now())
        await sleep(60)
        expect(await store.take(a, Date.now())).toBeUndefined()
      })

      it('flagOnce succeeds again once the flag has expired', async () => {
        const k = key()
        expect(await store.flagOnce(k, 'code-123456', 30, Date.now())).toBe(true)
        expect(await store.flagOnce(k, 'code-123456', 30, Date.now())).toBe(false)
        await sleep(60)
        expect(await store.flagOnce(k, 'code-123456', far, Date.now())).toBe(true)
        expect(await store.flagged([k], Date.now())).toEqual(['code-123456'])
      })

      it('expires after its ttl, and a new flag sets a new ttl', async () => {
        const [short, renewed, long] = [key('short'), key('renewed'), key('long')]
        await store.flag(short, 'x', 30, Date.now())
        await store.flag(renewed, 'y', 30, Date.now())
        await store.flag(renewed, 'y2', far, Date.now())
        await store.flag(long, 'z', far, Date.now())
        expect(await store.flagged([short, renewed, long], Date.now())).toEqual(['x', 'y2', 'z'])
        await sleep(60)
        expect(await store.flagged([short, renewed, long], Date.now())).toEqual([
          undefined,
          'y2',
          'z',
        ])
      })
    })

    it('matches the reference arithmetic (gcra.ts, sliding-window.ts) over long runs', async () => {
      const limits: Limit[] = [
        { algorithm: 'gcra', limit: 7, windowMs: 1_000 }, // T = 142.857… ms, not an integer
        { algorithm: 'gcra', limit: 37, windowMs: 10_000, burst: 6 },
        { algorithm: 'sliding-window', limit: 7, windowMs: 9_000 },
        { algorithm: 'sliding-window', limit: 23, windowMs: 60_000 },
      ]
      const random = mulberry32(20_260_101)
      for (const [n, l] of limits.entries()) {
        const model = referenceModel()
        const keys = [key(`x${n}`), key(`y${n}`)]
        let now = B + 123
        for (let i = 0; i < 150; i++) {
          now += Math.floor(random() * (l.windowMs / l.limit) * 1.3)
          if (random() < 0.02) now += l.windowMs
          const k = keys[i % 2]!
          const take = random() < 0.8
          const got = await (take ? consume(k, l, now) : peek(k, l, now))
          expect({ step: i, ...got }).toEqual({ step: i, ...model.step(k, l, now, take) })
        }
      }
    })

    it('a batch gives, in order, what the same calls one by one give (and counts the same)', async () => {
      const limits: Limit[] = [G5, S10, { algorithm: 'gcra', limit: 7, windowMs: 1_000, burst: 3 }]
      const random = mulberry32(20_261_125)
      // Two identical key sets: one driven by batches, one by single calls.
      const batched = (n: string) => key(`b-${n}`)
      const single = (n: string) => key(`s-${n}`)
      let now = B + 17
      for (let i = 0; i < 40; i++) {
        now += Math.floor(random() * 4_000)
        const plan = limits.map((limit, n) => ({
          n: String(n),
          limit,
          op: (['consume', 'peek', 'distinct'] as const)[Math.floor(random() * 3)]!,
          member: `m${Math.floor(random() * 6)}`,
        }))
        const got = await store.batch(
          plan.map((p) => ({ op: p.op, key: batched(p.n), limit: p.limit, member: p.member })),
          now,
        )
        const want: unknown[] = []
        for (const p of plan) {
          const k = single(p.n)
          want.push(
            p.op === 'distinct'
              ? await store.addDistinct(k, p.member, p.limit.windowMs, now)
              : p.op === 'consume'
                ? await consume(k, p.limit, now)
                : await peek(k, p.limit, now),
          )
        }
        expect({ step: i, got }).toEqual({ step: i, got: want })
      }
      // The batched steps really counted: the keys are as full as the singly driven ones.
      expect(await peek(batched('0'), G5, now)).toEqual(await peek(single('0'), G5, now))
      expect(await store.batch([], now)).toEqual([])
    })

    describe('cost: one request counted as several, all or nothing', () => {
      it('gcra: a cost that fits is taken whole; one that does not takes nothing', async () => {
        const k = key()
        const now = B + 1
        expect(await store.consume(k, G5, now, 3)).toMatchObject({ allowed: true, remaining: 2 })
        expect(await store.peek(k, G5, now, 3)).toMatchObject({ allowed: false })
        expect(await store.consume(k, G5, now, 3)).toMatchObject({ allowed: false })
        // The refused 3 took nothing: 2 still fit, then nothing.
        expect(await store.consume(k, G5, now, 2)).toMatchObject({ allowed: true, remaining: 0 })
        expect((await consume(k, G5, now)).allowed).toBe(false)
        // A cost above the burst never fits, even on an empty key.
        expect((await store.consume(key('big'), G5, now, 6)).allowed).toBe(false)
        expect((await store.consume(key('big'), G5, now, 5)).allowed).toBe(true)
      })

      it('sliding window: the same, and the refusal says when the cost fits', async () => {
        const k = key()
        const now = B + 1_000
        expect(await store.consume(k, S10, now, 7)).toEqual(ok(3, 2 * W - 1_000, 7))
        const no = await store.consume(k, S10, now, 4)
        expect(no).toMatchObject({ allowed: false, count: 11 })
        expect(no.retryAfterMs).toBeGreaterThan(W - 1_000)
        expect(await store.consume(k, S10, now, 3)).toMatchObject({ allowed: true, remaining: 0 })
        expect((await store.consume(key('big'), S10, now, 11)).allowed).toBe(false)
      })

      it('refund gives the whole cost back', async () => {
        for (const l of [G5, S10]) {
          const k = key(l.algorithm)
          const now = B + 2_000
          await store.consume(k, l, now, 4)
          await store.refund(k, l, now, now + 1, 4)
          expect(await peek(k, l, now + 1)).toMatchObject({ allowed: true, remaining: l.limit })
        }
      })

      it('matches the reference arithmetic with random costs, singly and in batches', async () => {
        const limits: Limit[] = [
          { algorithm: 'gcra', limit: 20, windowMs: 1_000, burst: 8 },
          { algorithm: 'sliding-window', limit: 30, windowMs: 9_000 },
        ]
        const random = mulberry32(20_261_207)
        for (const [n, l] of limits.entries()) {
          const model = referenceModel()
          const k = key(`c${n}`)
          let now = B + 321
          for (let i = 0; i < 120; i++) {
            now += Math.floor(random() * (l.windowMs / l.limit) * 4)
            const take = random() < 0.8
            const cost = 1 + Math.floor(random() * 6)
            const step = { op: take ? ('consume' as const) : ('peek' as const), key: k, limit: l }
            const got =
              i % 2 === 0
                ? await (take ? store.consume(k, l, now, cost) : store.peek(k, l, now, cost))
                : (await store.batch([{ ...step, cost }], now))[0]
            expect({ step: i, cost, got }).toEqual({
              step: i,
              cost,
              got: model.step(k, l, now, take, cost),
            })
          }
        }
      })
    })

    describe('refund', () => {
      it('gcra: gives back one interval of a counted request, never below empty', async () => {
        const k = key()
        const now = B + 1
        await consumeN(5, k, G5, now)
        expect((await consume(k, G5, now)).allowed).toBe(false)
        await store.refund(k, G5, now, now + 10)
        expect(await consume(k, G5, now + 10)).toMatchObject({ allowed: true, remaining: 0 })
        expect((await consume(k, G5, now + 10)).allowed).toBe(false)
        // A drained key (every request long gone) has nothing to give back.
        await store.refund(k, G5, now, now + 5 * W)
        await store.refund(k, G5, now, now + 5 * W)
        expect(await peek(k, G5, now + 5 * W)).toEqual(ok(5, 0, 1))
      })

      it('sliding window: gives back one request to the window it was counted in', async () => {
        const k = key()
        const now = B + 1_000
        await consumeN(10, k, S10, now)
        expect((await consume(k, S10, now)).allowed).toBe(false)
        await store.refund(k, S10, now, now + 5)
        expect(await consume(k, S10, now + 5)).toMatchObject({ allowed: true, remaining: 0 })
        // Counted in the previous window: given back there (its weight in the estimate drops).
        const later = B + W + W / 2
        expect(await peek(k, S10, later)).toMatchObject({ allowed: true, remaining: 5, count: 6 })
        await store.refund(k, S10, now, later)
        expect(await peek(k, S10, later)).toMatchObject({ allowed: true, remaining: 5, count: 5 })
        // Never below 0, and a window no longer held is not touched.
        await store.refund(k, S10, now, B + 3 * W)
        expect(await peek(k, S10, B + 3 * W)).toEqual(ok(10, 0, 1))
      })
    })

    it('a step guarded by a set flag is skipped (null, nothing counted); unguarded ones run', async () => {
      const now = B + 5
      const flag = `known:${key('flag')}`
      const a = key('a')
      const b = key('b')
      const steps = (n: number) => [
        { op: 'consume' as const, key: a, limit: G5, unless: flag },
        { op: 'distinct' as const, key: b, limit: S10, member: `m${n}`, unless: flag },
        { op: 'consume' as const, key: b, limit: G5 },
      ]
      // Not set: the guarded steps run and count.
      expect(await store.batch(steps(1), now)).toEqual([ok(4, 12_000, 1), 1, ok(4, 12_000, 1)])
      await store.flag(flag, '1', 60_000, now)
      // Set: guarded steps give null and count nothing; the unguarded one still counts.
      expect(await store.batch(steps(2), now)).toEqual([null, null, ok(3, 24_000, 2)])
      expect(await peek(a, G5, now)).toEqual(ok(4, 12_000, 2))
      expect(await distinct(b, 'm1', now)).toBe(1)
      // Removed: counted again, from where the key was.
      await store.unflag(flag)
      expect(await store.batch(steps(3), now)).toEqual([ok(3, 24_000, 2), 2, ok(2, 36_000, 3)])
    })
  })
}

/**
 * The stores' arithmetic on state kept the simplest way (a TAT per key, a count per fixed
 * window), so a store that keeps or rolls its state wrongly, or a Lua script that drifts from
 * the TypeScript, shows up as a difference.
 */
function referenceModel() {
  const tats = new Map<string, number>()
  const counts = new Map<string, number>()
  return {
    step(k: string, l: Limit, now: number, take: boolean, cost = 1): LimitResult {
      if (l.algorithm === 'gcra') {
        const s = gcra(tats.get(k), l, now, take, cost)
        if (s.tat !== undefined) tats.set(k, s.tat)
        return s.result
      }
      const start = now - (now % l.windowMs)
      const state = {
        start,
        current: counts.get(`${k}@${start}`) ?? 0,
        previous: counts.get(`${k}@${start - l.windowMs}`) ?? 0,
      }
      const r = slidingWindow(state, l, now, take, cost)
      counts.set(`${k}@${start}`, state.current)
      return r
    },
  }
}

/** A small seeded PRNG, so a failing run can be replayed. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
