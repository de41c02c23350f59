/**
 * The one state interface every layer uses (limits, flows, flags, risk). Each call is one atomic
 * step: one Redis round trip, or a plain synchronous value from the memory store, so the
 * single-instance path stays synchronous end to end.
 * @see ../../README.md#state-stores
 */
import type { MaybePromise } from '../engine/types.js'

export type Algorithm = 'gcra' | 'sliding-window'

export interface Limit {
  readonly algorithm: Algorithm
  /** Requests allowed per window. */
  readonly limit: number
  readonly windowMs: number
  /** GCRA only: requests allowed at once (defaults to `limit`). */
  readonly burst?: number
}

export interface LimitResult {
  readonly allowed: boolean
  /** Requests still allowed now (0 when denied). */
  readonly remaining: number
  /** When denied: how long until one more request is allowed. 0 when allowed. */
  readonly retryAfterMs: number
  /** How long until the key is back to its full allowance. */
  readonly resetMs: number
  /** The count the decision was made on (requests in the window, estimated for sliding windows). */
  readonly count: number
}

/**
 * One limit step of a {@link Store.batch}: `consume`, `peek` or `addDistinct` (`member` set,
 * counted over `limit.windowMs`).
 */
export interface LimitStep {
  readonly op: 'consume' | 'peek' | 'distinct'
  readonly key: string
  readonly limit: Limit
  /** The value counted once per window, for `distinct`. */
  readonly member?: string
  /** For `consume` and `peek`: how many requests this one counts as (default 1; all or nothing). */
  readonly cost?: number
  /**
   * A flag key: while that flag is set the step is skipped (nothing counted or read) and its
   * result is `null`. Checked in the same call as the step (`device: unknown` rules: a device
   * its account has signed in from is not counted), so a guarded step is still one round trip.
   */
  readonly unless?: string | undefined
}

/**
 * What a step gives: a {@link LimitResult}, the distinct count for `distinct`, or `null` for a
 * step skipped by its `unless` flag.
 */
export type StepResult = LimitResult | number | null

export interface Store {
  readonly kind: 'memory' | 'redis'
  /**
   * Runs several limit steps as one: on Redis one script, one round trip (standalone; on a
   * cluster one call per step, since the steps' keys live in different slots, and a step's
   * `unless` flag is read before it). Results in the order of `steps`, each what the single
   * call would have given.
   */
  batch(steps: readonly LimitStep[], now: number): MaybePromise<StepResult[]>
  /**
   * Counts one request (or `cost` of them, all or none) against `key` and says whether it was
   * within the limit.
   */
  consume(key: string, limit: Limit, now: number, cost?: number): MaybePromise<LimitResult>
  /** Says whether one more request (or `cost` more) would be within the limit, without counting. */
  peek(key: string, limit: Limit, now: number, cost?: number): MaybePromise<LimitResult>
  /**
   * Gives back one request (or `cost`) counted by `consume` at `countedAt` (an outcome rule's
   * request whose answer turned out not to count): GCRA moves the key's TAT back that many
   * intervals; a sliding window takes them from the fixed window `countedAt` fell in, if that
   * window is still held.
   */
  refund(
    key: string,
    limit: Limit,
    countedAt: number,
    now: number,
    cost?: number,
  ): MaybePromise<void>
  /**
   * Adds `member` to the distinct set of `key` and returns how many distinct members were seen
   * in the sliding window ending now (the previous window's members weighted by overlap).
   */
  addDistinct(key: string, member: string, windowMs: number, now: number): MaybePromise<number>
  /** Sets a flag that expires after `ttlMs` (deception, risk). */
  flag(key: string, value: string, ttlMs: number, now: number): MaybePromise<void>
  /**
   * Sets a flag only if it is not set already; true when this call set it. Atomic, so two
   * requests racing with the same one-time value (a TOTP code) cannot both win.
   */
  flagOnce(key: string, value: string, ttlMs: number, now: number): MaybePromise<boolean>
  /**
   * Removes a flag and returns the value it had (undefined when it was not set). Atomic, so of
   * requests racing to use one flag (a flow's one-time step) exactly one gets it.
   */
  take(key: string, now: number): MaybePromise<string | undefined>
  /** Values of flags still set, in the order of `keys`. */
  flagged(keys: readonly string[], now: number): MaybePromise<readonly (string | undefined)[]>
  /**
   * Adds `delta` to a score that decays exponentially with `halfLifeMs` and returns the new
   * value (risk per identity facet). A delta of 0 only reads.
   */
  addScore(key: string, delta: number, halfLifeMs: number, now: number): MaybePromise<number>
  /** Current (decayed) scores of `keys`, in order; 0 for unknown keys. One round trip. */
  scores(keys: readonly string[], halfLifeMs: number, now: number): MaybePromise<number[]>
  /** Removes a flag (unblock). */
  unflag(key: string): MaybePromise<void>
  /**
   * Forgets every count held under a limit key (unblock): GCRA, sliding-window and distinct
   * state. `windowMs` and `now` name the windows a store keeps under separate keys.
   */
  reset(key: string, windowMs: number, now: number): MaybePromise<void>
  close(): Promise<void>
}

/** Burst of a limit: GCRA's tolerance, in requests. */
export function burstOf(l: Limit): number {
  return l.burst ?? l.limit
}

/** The result of a one-step batch. */
export function firstStep(r: readonly StepResult[]): StepResult {
  return r[0]!
}
