/**
 * The Redis store: state shared by many gateway instances, standalone or Redis Cluster.
 * One round trip per call (a Lua script), keys hash-tagged so every key of one limit lands in
 * one cluster slot, a per-call timeout, no offline queue (a call fails at once while Redis is
 * down, and the rule's `onStoreError` decides), and ioredis reconnects by itself.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { BulwarkError } from '../errors.js'
import { ADD_SCORE, DISTINCT, GCRA, SCORES, SLIDING_WINDOW } from './scripts.js'
import { burstOf, type Limit, type LimitResult, type Store } from './store.js'

export interface RedisStoreOptions {
  /** `redis://host:port/db` for a standalone server. */
  readonly url?: string
  /** Seed nodes of a Redis Cluster (`host:port`); set instead of `url`. */
  readonly cluster?: readonly string[]
  /** Per-call timeout in ms. */
  readonly timeoutMs?: number
  /** Prefix of every key. */
  readonly prefix?: string
  /** Called when the connection state changes, for events and metrics. */
  readonly onStatus?: (status: 'ready' | 'error' | 'reconnecting', detail?: string) => void
}

type ScriptReply = [number, number, number, number, number]
interface Scripted {
  bwGcra(key: string, now: number, t: number, burst: number, take: string): Promise<ScriptReply>
  bwWindow(
    cur: string,
    prev: string,
    limit: number,
    windowMs: number,
    elapsed: number,
    take: string,
  ): Promise<ScriptReply>
  bwDistinct(
    cur: string,
    prev: string,
    member: string,
    windowMs: number,
    elapsed: number,
  ): Promise<number>
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const
  readonly client: Redis | Cluster
  readonly #prefix: string

  constructor(opts: RedisStoreOptions) {
    const timeout = opts.timeoutMs ?? 100
    const common: RedisOptions = {
      commandTimeout: timeout,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(1_000, timeout * 10),
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
      // Every command issued in one event-loop turn goes out in one write: a request's rules
      // (and concurrent requests) share a round trip instead of paying one each.
      enableAutoPipelining: true,
    }
    if (opts.cluster?.length) {
      this.client = new Cluster(
        opts.cluster.map((n) => {
          const [host, port] = n.split(':')
          return { host: host!, port: Number(port) }
        }),
        {
          redisOptions: common,
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          clusterRetryStrategy: common.retryStrategy!,
        },
      )
    } else {
      this.client = new Redis(opts.url ?? 'redis://127.0.0.1:6379', common)
    }
    this.#prefix = opts.prefix ?? 'bw:'
    this.client.defineCommand('bwGcra', { numberOfKeys: 1, lua: GCRA })
    this.client.defineCommand('bwWindow', { numberOfKeys: 2, lua: SLIDING_WINDOW })
    this.client.defineCommand('bwDistinct', { numberOfKeys: 2, lua: DISTINCT })
    this.client.defineCommand('bwAddScore', { numberOfKeys: 1, lua: ADD_SCORE })
    this.client.defineCommand('bwScores', { lua: SCORES })
    const onStatus = opts.onStatus
    this.client.on('ready', () => onStatus?.('ready'))
    this.client.on('error', (err: Error) => onStatus?.('error', err.message))
    this.client.on('reconnecting', () => onStatus?.('reconnecting'))
  }

  /** Resolves once connected (for start-up checks and tests); rejects after `ms`. */
  async ready(ms = 5_000): Promise<void> {
    if (this.client.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new BulwarkError('ERR_STORE_UNAVAILABLE', `redis not ready after ${ms} ms`)),
        ms,
      )
      this.client.once('ready', () => {
        clearTimeout(t)
        resolve()
      })
    })
  }

  /** `{…}` is the cluster hash tag: every key derived from one limit key shares a slot. */
  #tag(key: string): string {
    return `${this.#prefix}{${key}}`
  }

  consume(key: string, limit: Limit, now: number): Promise<LimitResult> {
    return this.#step(key, limit, now, '1')
  }

  peek(key: string, limit: Limit, now: number): Promise<LimitResult> {
    return this.#step(key, limit, now, '0')
  }

  async #step(key: string, limit: Limit, now: number, take: string): Promise<LimitResult> {
    const c = this.client as unknown as Scripted
    const tag = this.#tag(key)
    let r: ScriptReply
    try {
      if (limit.algorithm === 'gcra') {
        r = await c.bwGcra(`${tag}:g`, now, limit.windowMs / limit.limit, burstOf(limit), take)
      } else {
        const start = now - (now % limit.windowMs)
        r = await c.bwWindow(
          `${tag}:w:${start}`,
          `${tag}:w:${start - limit.windowMs}`,
          limit.limit,
          limit.windowMs,
          now - start,
          take,
        )
      }
    } catch (err) {
      throw storeError(err)
    }
    return { allowed: r[0] === 1, remaining: r[1], retryAfterMs: r[2], resetMs: r[3], count: r[4] }
  }

  async addDistinct(key: string, member: string, windowMs: number, now: number): Promise<number> {
    const start = now - (now % windowMs)
    const tag = this.#tag(key)
    try {
      return await (this.client as unknown as Scripted).bwDistinct(
        `${tag}:d:${start}`,
        `${tag}:d:${start - windowMs}`,
        member,
        windowMs,
        now - start,
      )
    } catch (err) {
      throw storeError(err)
    }
  }

  /** Flags share one hash tag so `flagged` reads them all with one MGET, even on a cluster. */
  #flagKey(key: string): string {
    return `${this.#prefix}{flags}:${key}`
  }

  async flag(key: string, value: string, ttlMs: number): Promise<void> {
    try {
      await this.client.set(this.#flagKey(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)))
    } catch (err) {
      throw storeError(err)
    }
  }

  async flagOnce(key: string, value: string, ttlMs: number): Promise<boolean> {
    try {
      const r = await this.client.set(
        this.#flagKey(key),
        value,
        'PX',
        Math.max(1, Math.ceil(ttlMs)),
        'NX',
      )
      return r === 'OK'
    } catch (err) {
      throw storeError(err)
    }
  }

  async flagged(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return []
    try {
      const values = await this.client.mget(keys.map((k) => this.#flagKey(k)))
      return values.map((v) => v ?? undefined)
    } catch (err) {
      throw storeError(err)
    }
  }

  async unflag(key: string): Promise<void> {
    try {
      await this.client.del(this.#flagKey(key))
    } catch (err) {
      throw storeError(err)
    }
  }

  /** One DEL of the key's GCRA state and its current and previous windows (one slot: one tag). */
  /** Scores share one hash tag, like flags, so `scores` reads them all in one call on a cluster. */
  #scoreKey(key: string): string {
    return `${this.#prefix}{risk}:${key}`
  }

  async addScore(key: string, delta: number, halfLifeMs: number, now: number): Promise<number> {
    try {
      const c = this.client as unknown as {
        bwAddScore(k: string, d: number, h: number, n: number): Promise<string>
      }
      return Number(await c.bwAddScore(this.#scoreKey(key), delta, halfLifeMs, now))
    } catch (err) {
      throw storeError(err)
    }
  }

  async scores(keys: readonly string[], halfLifeMs: number, now: number): Promise<number[]> {
    if (keys.length === 0) return []
    try {
      const c = this.client as unknown as {
        bwScores(n: number, ...args: (string | number)[]): Promise<string[]>
      }
      const r = await c.bwScores(
        keys.length,
        ...keys.map((k) => this.#scoreKey(k)),
        halfLifeMs,
        now,
      )
      return r.map(Number)
    } catch (err) {
      throw storeError(err)
    }
  }

  async reset(key: string, windowMs: number, now: number): Promise<void> {
    const tag = this.#tag(key)
    const start = now - (now % windowMs)
    const keys = [`${tag}:g`]
    for (const s of [start, start - windowMs]) keys.push(`${tag}:w:${s}`, `${tag}:d:${s}`)
    try {
      await this.client.del(keys)
    } catch (err) {
      throw storeError(err)
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.quit()
    } catch {
      this.client.disconnect()
    }
  }
}

function storeError(err: unknown): BulwarkError {
  const msg = err instanceof Error ? err.message : String(err)
  const timeout = /timed out/i.test(msg)
  return new BulwarkError(
    timeout ? 'ERR_STORE_TIMEOUT' : 'ERR_STORE_UNAVAILABLE',
    `redis: ${msg}`,
    { cause: err },
  )
}
