/**
 * Proof of work: what an enforced `challenge` verdict asks for when `challenge:` is configured.
 *
 * The answer to a challenged request carries a puzzle: a token the gateway signed, bound to
 * the request's method and canonical path. The client finds a nonce whose
 * `SHA-256(token + "." + nonce)` starts with `bits` zero bits (about 2^bits hashes) and sends
 * the request again with `<token>.<nonce>` in the answer header; the challenge verdicts of that
 * one request are then lifted (logged, not enforced). An answer counts once: it is spent in the
 * store, so it cannot be replayed, even across instances sharing Redis.
 *
 * What it buys: a person's browser pays a fraction of a second per challenged request (16 bits:
 * 0.25 s in Chromium); a bot pays for every attempt, and a bot that does not run the solver is
 * stopped. It is a cost, not a wall: a bot hashing natively pays about as much (0.14 s in Node),
 * not more. Challenge on something a bot cannot rotate for free, and keep limits behind it.
 *
 * Token: `<issued, base-36 seconds>.<bits>.<salt>.<HMAC-SHA256 of those and the binding, 22
 * base64url characters>`. The salt is a per-process random prefix and a counter: unique without
 * a random draw per puzzle.
 * @see ../../README.md#challenges-proof-of-work
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { combine } from '../engine/decision.js'
import { SEVERITY } from '../engine/types.js'
import type { Clock, Decision, MaybePromise, RequestContext, Verdict } from '../engine/types.js'
import type { Store } from '../store/store.js'
import { leadingZeroBits } from './client.js'
import { maxBitsOf, type ChallengeSpec } from './spec.js'

/** The scheme name, in `WWW-Authenticate` and in the answer's body. */
export const POW_SCHEME = 'Bulwark-PoW'
const MAC_CHARS = 22
const NONCE = /^[0-9A-Za-z]{1,32}$/
/** Answers accepted for a rule before its puzzles get harder, and how fast that count fades. */
const SOLVED_FREE = 32
const SOLVED_HALF_LIFE = 10 * 60_000
/** Bindings whose current puzzle is kept (beyond it, the cache starts over). */
const RECENT_MAX = 10_000
/** A puzzle may be dated this far ahead of this instance's clock (another instance's skew). */
const SKEW_MS = 60_000

/** `spent`: the key an accepted answer is spent under (its puzzle's salt and its nonce). */
type Checked = { spent: string; bits: number } | { problem: string }

export interface ProofOfWork {
  /**
   * Settles a decision whose action is `challenge`: a request carrying a fresh, valid answer is
   * let past the challenge verdicts (they become `log`); any other is answered with a puzzle.
   * Auth's step-up challenges are left as they are: work is no substitute for a second factor.
   */
  settle(ctx: RequestContext, decision: Decision): MaybePromise<Decision>
  /** A signed puzzle for `binding` (`METHOD /canonical/path`). */
  issue(binding: string, now: number, bits?: number): string
  /** Why `answer` does not solve a puzzle for `binding`, or the key to spend it under. */
  verify(answer: string, binding: string, now: number): Checked
}

export function proofOfWork(spec: ChallengeSpec, store: Store, clock: Clock): ProofOfWork {
  const keys = spec.secret?.map((s) => Buffer.from(s, 'utf8')) ?? [randomBytes(32)]
  const prefix = randomBytes(6).toString('base64url')
  const ttlMs = spec.ttl
  const header = spec.header
  let counter = 0
  const recent = new Map<string, { token: string; until: number; bits: number }>()
  const maxBits = maxBitsOf(spec)

  const mac = (key: Buffer, payload: string, binding: string) =>
    createHmac('sha256', key)
      .update(`${payload}|${binding}`)
      .digest('base64url')
      .slice(0, MAC_CHARS)

  function issue(binding: string, now: number, bits = spec.bits): string {
    const payload = `${Math.floor(now / 1000).toString(36)}.${bits}.${prefix}${(counter++).toString(36)}`
    return `${payload}.${mac(keys[0]!, payload, binding)}`
  }

  function verify(answer: string, binding: string, now: number): Checked {
    const parts = answer.split('.')
    if (parts.length !== 5) return { problem: 'malformed answer' }
    const [issued, bitsText, salt, sig, nonce] = parts as [string, string, string, string, string]
    if (!NONCE.test(nonce) || sig.length !== MAC_CHARS) return { problem: 'malformed answer' }
    const payload = `${issued}.${bitsText}.${salt}`
    const given = Buffer.from(sig, 'base64url')
    let signed = false
    for (const key of keys) {
      const want = Buffer.from(mac(key, payload, binding), 'base64url')
      if (given.length === want.length && timingSafeEqual(given, want)) signed = true
    }
    // Also a puzzle handed out for another route: the binding is part of what was signed.
    if (!signed) return { problem: 'not a puzzle this gateway handed out for this route' }
    const at = parseInt(issued, 36) * 1000
    if (!(at <= now + SKEW_MS) || now - at > ttlMs) return { problem: 'puzzle expired' }
    const bits = Number(bitsText)
    // A puzzle made before the difficulty was raised is not enough any more.
    if (!(bits >= spec.bits)) return { problem: 'puzzle easier than required' }
    const digest = createHash('sha256').update(answer).digest()
    if (leadingZeroBits(digest) < bits) return { problem: 'insufficient work' }
    return { spent: `${salt}.${nonce}`, bits }
  }

  /**
   * The puzzle for a binding, made at most once a second: under a flood of challenged requests
   * a signature per request would cost more than the rest of the answer. Sharing one is safe:
   * each answer is spent by itself (salt and nonce), every answer costs its own work, and
   * solvers start from a random nonce, so two clients do not find the same one.
   */
  function puzzleFor(key: string, now: number, bits: number): string {
    const hit = recent.get(key)
    if (hit !== undefined && hit.until > now && hit.bits === bits) return hit.token
    if (recent.size >= RECENT_MAX) recent.clear()
    const token = issue(key, now, bits)
    recent.set(key, { token, until: now + 1_000, bits })
    return token
  }

  /**
   * Answers accepted per rule, decaying (half-life {@link SOLVED_HALF_LIFE}), in this process:
   * the base price while a few people answer; one more bit each time the count doubles past
   * {@link SOLVED_FREE}, up to `maxBits`, while something keeps solving them.
   */
  const solved = new Map<string, { n: number; at: number }>()
  function solvedFor(rule: string, now: number): number {
    const s = solved.get(rule)
    return s === undefined ? 0 : s.n * 0.5 ** ((now - s.at) / SOLVED_HALF_LIFE)
  }
  function countSolved(rule: string, now: number) {
    if (solved.size >= RECENT_MAX && !solved.has(rule)) solved.clear()
    solved.set(rule, { n: solvedFor(rule, now) + 1, at: now })
  }
  function bitsFor(rule: string, now: number): number {
    const n = solvedFor(rule, now)
    // 32 answers: one more bit; 64: two; 128: three…
    const extra = n < SOLVED_FREE ? 0 : Math.floor(Math.log2(n / SOLVED_FREE)) + 1
    return Math.min(maxBits, spec.bits + extra)
  }

  function ask(ctx: RequestContext, decision: Decision, why: string): Decision {
    const now = clock.now()
    const bits = bitsFor(decision.decisive?.rule ?? '', now)
    const token = puzzleFor(binding(ctx), now, bits)
    const seconds = Math.round(ttlMs / 1000)
    const verdicts = decision.verdicts.map((v) => {
      if (v !== decision.decisive) return v
      const status = v.status ?? 401
      // Answer now, not later: a limit's Retry-After would tell the client to wait instead.
      const { 'retry-after': _wait, ...kept } = v.headers ?? {}
      const body = `{"error":${JSON.stringify(STATUS_CODES[status] ?? 'Error')},"status":${status},"requestId":${JSON.stringify(ctx.id)},"challenge":{"scheme":"${POW_SCHEME}","algorithm":"sha-256","token":"${token}","bits":${bits},"header":"${header}","expiresIn":${seconds}}}`
      const asked: Verdict = {
        ...v,
        status,
        reason: `${v.reason}; proof of work asked (${why})`,
        headers: {
          ...kept,
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'www-authenticate': `${POW_SCHEME} token="${token}", algorithm="sha-256", bits="${bits}", header="${header}"`,
        },
        body,
        data: { ...v.data, pow: why },
      }
      return asked
    })
    return combine(verdicts)
  }

  /**
   * The decision with the challenging verdicts logged instead: `why` says so. Their headers go
   * (RateLimit, Retry-After: a solved request is let through, and must not be told when the
   * rule stops asking).
   */
  function lift(decision: Decision, code: string, why: string): Decision {
    return combine(
      decision.verdicts.map((v) => {
        if (!liftable(v)) return v
        const { headers: _dropped, ...rest } = v
        return {
          ...rest,
          action: 'log' as const,
          reason: `${v.reason}; ${why}`,
          data: { ...v.data, pow: code },
        }
      }),
    )
  }

  return {
    issue,
    verify,
    settle(ctx, decision) {
      // The other enforced verdicts: a step-up challenge (auth) asks for a second factor, not
      // for work; a refusal (a ceiling behind the puzzle) stands whatever the answer, so no work
      // is asked that could not help.
      let refusedAnyway = false
      for (const v of decision.verdicts) {
        if (v.monitor || liftable(v)) continue
        if (v.action === 'challenge') return decision
        if (SEVERITY[v.action] >= SEVERITY.throttle) refusedAnyway = true
      }
      if (refusedAnyway)
        return lift(decision, 'refused anyway', 'no proof of work asked: refused anyway')
      const rule = decision.decisive?.rule ?? ''
      const sent = ctx.headers[header]
      if (sent === undefined) return ask(ctx, decision, 'no answer')
      if (typeof sent !== 'string') return ask(ctx, decision, 'several answers')
      const now = clock.now()
      const checked = verify(sent, binding(ctx), now)
      if ('problem' in checked) return ask(ctx, decision, checked.problem)
      // An old, easier puzzle answered over and over would dodge the escalation for its ttl;
      // one step behind is let through (it was handed out just before the step).
      if (checked.bits < bitsFor(rule, now) - 1)
        return ask(ctx, decision, 'puzzle easier than required')
      const spend = (first: boolean) => {
        if (!first) return ask(ctx, decision, 'answer already used')
        countSolved(rule, now)
        return lift(decision, 'solved', 'proof of work solved')
      }
      // Fail closed: a store that cannot spend the token lets nobody past the challenge.
      const failed = () => ask(ctx, decision, 'store unavailable')
      try {
        const first = store.flagOnce(`pow:${checked.spent}`, '1', ttlMs + SKEW_MS, now)
        return first instanceof Promise ? first.then(spend, failed) : spend(first)
      } catch {
        return failed()
      }
    },
  }
}

/** An enforced challenge work can lift: any layer's but auth's step-up. */
function liftable(v: Verdict): boolean {
  return v.action === 'challenge' && !v.monitor && !v.rule.startsWith('auth.')
}

/** A puzzle is good for one method and path (its canonical form, without the query). */
function binding(ctx: RequestContext): string {
  return `${ctx.method} ${ctx.path}`
}
