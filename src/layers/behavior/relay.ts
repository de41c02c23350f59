/**
 * The `relay` signal: linking a new identity to the refused one it takes over from. A bot that
 * is refused changes IP, browser headers and cookies, and then — having learnt nothing else —
 * retries what was refused and carries on. Nothing ties the two identities together but that
 * behaviour, so the gateway remembers each refused client's last refused requests on templated
 * routes (in the store, so every instance sees them) and watches new identities:
 *
 * 1. a refusal on a templated route is remembered under `relay:<METHOD> <path>` with the refused
 *    client's key, risk and id stride (at most `perClient` per client and `window`);
 * 2. an identity whose very first request (`fresh`) is such a path becomes a suspect;
 * 3. it is confirmed when one of its next few requests is another remembered refusal of the
 *    same client, or the next id of that client's sweep (one or two strides on from the retried
 *    id or from the suspect's own previous id; a few ids on when the stride is unknown), or the
 *    same small step twice in a row: people who land on the very page a bot was refused, and
 *    then open its neighbour, are rare. A confirmed relay inherits the refused client's risk.
 *
 * Identities are keyed by what survives an IP change (session, account, API key, fingerprint),
 * so a phone that changes network is not new, and an office behind one IP is many identities. A
 * request being given its first device cookie is a new identity even when its copied headers
 * were seen before (kept under the fingerprint: requests a new client sends side by side are
 * each given a different cookie). So is a young device's cookie first seen with these headers:
 * an answer that was on its way when the refused client moved on can leave its cookie in the
 * jar of the client that takes over, with another browser's headers — a stock set other bots
 * may have sent before (requests are counted per header set and device until the device is
 * trusted; a person's device is seen with one header set).
 */
import { OrderedMap } from '../../store/ordered-map.js'
import type { BehaviorSpec } from './spec.js'

/** What is remembered of a refusal (the value of a `relay:` flag). */
export interface Handoff {
  /** The refused client's relay key. */
  readonly from: string
  /** Its risk score when refused. */
  readonly score: number
  /** The step between the numeric ids it swept (0 when it did not sweep). */
  readonly stride: number
}

/** A new identity that retried a refusal: whom it may be taking over from. */
interface Suspect extends Handoff {
  readonly at: number
  readonly path: string
  readonly template: string
  /** The numeric id of its latest request on `template` (first: the retried one). */
  last: number | undefined
  /** The step from the one before to `last` (0: none yet). */
  step: number
  /** Requests it has left to confirm itself (counted down as it arrives). */
  left: number
}

/** How many more requests a suspect has to confirm itself. */
const CONFIRM_WITHIN = 3

export class Relays {
  readonly #spec: BehaviorSpec
  /** Requests seen per identity (capped), to know a new one. */
  readonly #seen = new OrderedMap<string, number>()
  readonly #suspects = new OrderedMap<string, Suspect>()
  /** Per refused client: the refusals it may still have remembered now, and when that was. */
  readonly #remembered = new OrderedMap<string, { tokens: number; at: number }>()

  constructor(spec: BehaviorSpec) {
    this.#spec = spec
  }

  /**
   * Counts a request of `who` (`self`, or `self` on a young device); true when this request
   * must be looked up as a possible relay (a templated route, and a new identity or a suspect).
   * `fresh`: the request is being given its first device cookie — a new client, though its
   * copied headers (`self`) were seen before. `anon`: the client's fingerprint key, where a
   * session or API key's first request was kept.
   */
  arrive(self: string, who: string, templated: boolean, fresh: boolean, anon = self): boolean {
    if (this.#spec.signals.relay <= 0) return false
    let n = this.#seen.get(who)
    if (n === undefined) {
      if (this.#seen.size >= this.#spec.maxTracked) this.#seen.deleteOldest()
      n = 0
    }
    if (n < 1_000) n++
    this.#seen.touch(who, n)
    let s = this.#suspects.get(self)
    if (s === undefined && anon !== self) {
      // A session or API key is a client's key only from its second request (its first is
      // kept under the fingerprint: see trackKey): a suspect made on that first request goes
      // on under the key, or a bot sending a new session cookie with each identity is never
      // confirmed.
      s = this.#suspects.get(anon)
      if (s !== undefined) {
        this.#suspects.delete(anon)
        this.#suspects.set(self, s)
      }
    }
    if (s !== undefined) s.left--
    return templated && (fresh || n <= this.#spec.relay.fresh || s !== undefined)
  }

  /**
   * Judges a looked-up request: `raw` is the handoff remembered under its path, if any.
   * Returns the risk a confirmed relay inherits, else -1.
   */
  judge(
    self: string,
    who: string,
    fresh: boolean,
    path: string,
    template: string,
    id: number | undefined,
    raw: string | undefined,
    now: number,
  ): number {
    const spec = this.#spec.relay
    const h = parseHandoff(raw)
    const s = this.#suspects.get(self)
    if (s) {
      if (now - s.at > spec.window || s.left < 0) {
        this.#suspects.delete(self)
        return -1
      }
      const again = h !== undefined && h.from === s.from && path !== s.path
      // Going on with a sweep: the refused client's next id (one or two of its strides on,
      // counted from the retried id or the suspect's own previous one, so a sweep that wrapped
      // around past the last id still counts), or — when that client's stride is unknown, or
      // was misread from ids arriving out of order over several connections — the suspect
      // itself taking the same small step twice in a row.
      const same = template === s.template
      const step = same && id !== undefined && s.last !== undefined ? id - s.last : 0
      const small = step !== 0 && Math.abs(step) <= this.#spec.sweep.maxStride
      const onward =
        (step !== 0 && (s.stride !== 0 ? step === s.stride || step === 2 * s.stride : small)) ||
        (small && step === s.step)
      if (same && id !== undefined) {
        s.last = id
        s.step = step
      }
      if (!again && !onward) return -1
      this.#suspects.delete(self)
      return Math.min(s.score, spec.maxInherited)
    }
    const seen = this.#seen.get(who) ?? 0
    if (h && h.from !== self && (fresh || seen <= spec.fresh)) {
      if (this.#suspects.size >= this.#spec.maxTracked) this.#suspects.deleteOldest()
      this.#suspects.set(self, {
        ...h,
        at: now,
        path,
        template,
        last: id,
        step: 0,
        left: CONFIRM_WITHIN,
      })
    }
    return -1
  }

  /**
   * A refusal of `self` on a templated route: the handoff to remember, or undefined when this
   * client has had its share remembered. The share is a bucket of `perClient` that refills at
   * `perClient` a `window`: a flood is not all kept, and a client refused many times in a row
   * (a trapped bot answered with chaos 403s) still has a later refusal remembered, once
   * `window / perClient` has passed, where a fixed count per window kept only its first few.
   */
  refused(self: string, score: number, stride: number, now: number): string | undefined {
    if (this.#spec.signals.relay <= 0) return undefined
    const { perClient, window } = this.#spec.relay
    const r = this.#remembered.get(self)
    const tokens =
      r === undefined
        ? perClient
        : Math.min(perClient, r.tokens + (Math.max(0, now - r.at) * perClient) / window)
    const kept = tokens >= 1
    this.#remembered.delete(self)
    if (this.#remembered.size >= this.#spec.maxTracked) this.#remembered.deleteOldest()
    this.#remembered.set(self, { tokens: kept ? tokens - 1 : tokens, at: now })
    return kept
      ? JSON.stringify({ from: self, score: Math.round(score * 10) / 10, stride })
      : undefined
  }
}

function parseHandoff(raw: string | undefined): Handoff | undefined {
  if (raw === undefined) return undefined
  try {
    const h = JSON.parse(raw) as Partial<Handoff>
    return typeof h.from === 'string' && typeof h.score === 'number'
      ? { from: h.from, score: h.score, stride: typeof h.stride === 'number' ? h.stride : 0 }
      : undefined
  } catch {
    return undefined
  }
}
