/**
 * The Redis store against real servers: the store contract on a standalone server and on a
 * three-node cluster, plus what only Redis owns: one round trip per call, hash-tagged keys,
 * fast failure while Redis is down or stalled, and reconnecting by itself.
 * @see ../../src/store/redis.ts
 */
import type { Cluster } from 'ioredis'
import { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BulwarkError } from '../../src/errors.js'
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis.js'
import type { Limit, LimitResult, Store } from '../../src/store/store.js'
import {
  describeRedis,
  startRedis,
  startRedisCluster,
  type RedisCluster,
  type RedisServer,
} from '../helpers/redis.js'
import { B, storeContract } from './store-contract.js'

const W = 60_000
const G5: Limit = { algorithm: 'gcra', limit: 5, windowMs: W }
const S10: Limit = { algorithm: 'sliding-window', limit: 10, windowMs: W }
const G100: Limit = { algorithm: 'gcra', limit: 100, windowMs: W }

/**
 * A connected store; closed again if it never gets ready. Typed as the Store interface the
 * layers use (RedisStore's own methods drop the `now` it ignores).
 */
async function connect(opts: RedisStoreOptions): Promise<RedisStore & Store> {
  const store = new RedisStore(opts)
  try {
    await store.ready()
    return store
  } catch (err) {
    await store.close()
    throw err
  }
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await get()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20)
  }
}

describeRedis('RedisStore', () => {
  describe('standalone', () => {
    let server: RedisServer
    let admin: Redis
    beforeAll(async () => {
      server = await startRedis()
      admin = new Redis(server.url)
    })
    afterAll(async () => {
      admin?.disconnect()
      await server?.stop()
    })

    storeContract('redis', async () => {
      const store = await connect({ url: server.url, timeoutMs: 1_000 })
      return { store, cleanup: () => store.close() }
    })

    it('makes one round trip per call, and per batch: one EVALSHA (EVAL once Redis has forgotten the script)', async () => {
      await admin.script('FLUSH')
      const store = await connect({ url: server.url, timeoutMs: 1_000 })
      const monitor = await admin.monitor()
      const seen: { args: string[]; source: string }[] = []
      monitor.on('monitor', (_time: string, args: string[], source: string) =>
        seen.push({ args, source }),
      )
      const k = 'limits.rt|account:bob'
      const calls: [expected: string, call: () => unknown][] = [
        ['evalsha eval', () => store.consume(k, G5, B)],
        ['evalsha', () => store.consume(k, G5, B)],
        ['evalsha', () => store.peek(k, G5, B)],
        ['evalsha', () => store.consume(k, S10, B)],
        ['evalsha', () => store.consume(k, S10, B + W)],
        ['evalsha', () => store.peek(k, S10, B + W)],
        ['evalsha', () => store.addDistinct(k, 'a', W, B)],
        ['evalsha', () => store.addDistinct(k, 'b', W, B + W)],
        [
          'evalsha',
          () =>
            store.batch(
              [
                { op: 'consume', key: `${k}-2`, limit: G5 },
                { op: 'peek', key: `${k}-3`, limit: S10 },
                { op: 'distinct', key: `${k}-4`, limit: S10, member: 'x' },
              ],
              B,
            ),
        ],
        ['set', () => store.flag(k, 'block', 60_000, B)],
        ['mget', () => store.flagged([k, 'x', 'y'], B)],
        ['del', () => store.unflag(k)],
      ]
      const sent: string[][] = []
      try {
        for (const [i, [, call]] of calls.entries()) {
          const from = seen.length
          await call()
          // ECHO from another connection marks the end of this call's commands.
          await admin.echo(`done-${i}`)
          await until('the marker in MONITOR', async () =>
            seen.some((e) => e.args[1] === `done-${i}`) ? true : undefined,
          )
          const own = seen
            .slice(from)
            .filter((e) => e.source !== 'lua' && e.args[0]?.toLowerCase() !== 'echo')
          sent.push(own.map((e) => e.args[0]!.toLowerCase()))
          if (own[0]?.args[0]?.toLowerCase() === 'evalsha')
            expect(own[0].args[1]).toMatch(/^[0-9a-f]{40}$/)
        }
      } finally {
        monitor.disconnect()
        await store.close()
      }
      expect(sent).toEqual(calls.map(([expected]) => expected.split(' ')))
      // The scripts' own commands ran inside Redis, not as round trips.
      expect(seen.some((e) => e.source === 'lua' && e.args[0]?.toLowerCase() === 'pfadd')).toBe(
        true,
      )
    })

    it('coalesces the calls of one event-loop turn into one script call, run in call order', async () => {
      const store = await connect({ url: server.url, timeoutMs: 1_000 })
      const scripts = async () =>
        [...(await admin.info('commandstats')).matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0)
      try {
        await store.consume('limits.warm|ip:x', G5, B) // loads the script on this connection
        const before = await scripts()
        const k = 'limits.coalesce|account:dora'
        // Seven calls in one turn against a burst of 5 (plus unrelated keys and a batch).
        const calls = [
          ...Array.from({ length: 7 }, () => store.consume(k, G5, B)),
          store.addDistinct(`${k}-d`, 'a', W, B),
          store.batch(
            [
              { op: 'peek', key: k, limit: G5 },
              { op: 'consume', key: `${k}-s`, limit: S10 },
            ],
            B,
          ),
        ]
        const got = await Promise.all(calls)
        expect((await scripts()) - before).toBe(1)
        expect(got.slice(0, 7).map((r) => (r as LimitResult).allowed)).toEqual([
          true,
          true,
          true,
          true,
          true,
          false,
          false,
        ])
        expect(got[7]).toBe(1)
        const [peeked, sliding] = got[8] as LimitResult[]
        expect(peeked!.allowed).toBe(false)
        expect(sliding).toMatchObject({ allowed: true, remaining: 9, count: 1 })
      } finally {
        await store.close()
      }
    })

    it('hash-tags every key, so all keys of one limit share a cluster slot', async () => {
      await admin.flushall()
      const store = await connect({ url: server.url })
      const k = 'limits.tags|account:carol'
      try {
        await store.consume(k, G5, B)
        await store.consume(k, S10, B)
        await store.consume(k, S10, B + W)
        await store.addDistinct(k, 'a', W, B)
        await store.addDistinct(k, 'a', W, B + W)
        await store.flag(k, 'block', 60_000, B)
      } finally {
        await store.close()
      }
      const keys = (await admin.keys('bw:*')).sort()
      expect(keys).toEqual(
        [
          `bw:{${k}}:g`,
          `bw:{${k}}:w:${B}`,
          `bw:{${k}}:w:${B + W}`,
          `bw:{${k}}:d:${B}`,
          `bw:{${k}}:d:${B}:u`,
          `bw:{${k}}:d:${B + W}`,
          `bw:{${k}}:d:${B + W}:u`,
          `bw:{flags}:${k}`,
        ].sort(),
      )
      const custom = await connect({ url: server.url, prefix: 'gw1:' })
      await custom.consume(k, G5, B).finally(() => custom.close())
      expect(await admin.keys('gw1:*')).toEqual([`gw1:{${k}}:g`])
    })

    it('rejects with ERR_STORE_TIMEOUT after timeoutMs when Redis stalls, then recovers', async () => {
      const store = await connect({ url: server.url, timeoutMs: 100 })
      const k = 'limits.stall|account:dave'
      try {
        await store.consume(k, G100, B)
        await admin.call('CLIENT', 'PAUSE', '1000')
        const started = Date.now()
        const err = await store.consume(k, G100, B).catch((e: unknown) => e)
        const took = Date.now() - started
        expect(err).toBeInstanceOf(BulwarkError)
        expect(err).toMatchObject({
          code: 'ERR_STORE_TIMEOUT',
          message: 'redis: Command timed out',
        })
        expect(took).toBeGreaterThanOrEqual(90)
        expect(took).toBeLessThan(600)
        // Once the pause is over, the same store answers again. A call that timed out was still
        // sent: Redis ran it after the pause, so it counted (a timeout is not a "no").
        const r = await until('redis to answer again', () =>
          store.consume(k, G100, B).catch(() => undefined),
        )
        expect(r.allowed).toBe(true)
        expect(r.count).toBeGreaterThanOrEqual(3)
      } finally {
        await store.close()
      }
    })
  })

  describe('while Redis is down', () => {
    let server: RedisServer
    beforeAll(async () => {
      server = await startRedis()
    })
    afterAll(async () => {
      await server?.stop()
    })

    it('rejects every call at once with a store error, then reconnects by itself', async () => {
      const statuses: string[] = []
      const store = await connect({ url: server.url, onStatus: (s) => statuses.push(s) })
      const k = 'limits.down|account:erin'
      try {
        expect((await store.consume(k, G5, B)).allowed).toBe(true)
        server.kill()
        const calls: (() => unknown)[] = [
          () => store.consume(k, G5, B),
          () => store.peek(k, S10, B),
          () => store.addDistinct(k, 'm', W, B),
          () => store.flag(k, 'v', 1_000, B),
          () => store.flagged([k], B),
          () => store.unflag(k),
        ]
        // At once (possibly before the client noticed), and again once it is reconnecting.
        for (let round = 0; round < 3; round++) {
          const started = Date.now()
          const errors = await Promise.all(
            calls.map((c) =>
              Promise.resolve(c()).then(
                () => 'resolved',
                (e: unknown) => e,
              ),
            ),
          )
          expect(Date.now() - started).toBeLessThan(1_000)
          for (const err of errors) {
            expect(err).toBeInstanceOf(BulwarkError)
            expect((err as BulwarkError).code).toMatch(/^ERR_STORE_(UNAVAILABLE|TIMEOUT)$/)
            expect((err as BulwarkError).message).toMatch(/^redis: /)
          }
          await sleep(100)
        }
        await server.restart()
        // No ready() and no help: the same instance finds the server again.
        const r = await until('the store to reconnect', () =>
          store.consume(k, G5, B).catch(() => undefined),
        )
        // A fresh server (nothing persisted): the key starts over.
        expect(r).toEqual({
          allowed: true,
          remaining: 4,
          retryAfterMs: 0,
          resetMs: 12_000,
          count: 1,
        })
        expect(await store.flagged([k], B)).toEqual([undefined])
        expect(statuses[0]).toBe('ready')
        expect(statuses).toContain('reconnecting')
        expect(statuses.at(-1)).toBe('ready')
      } finally {
        await store.close()
      }
    })
  })

  describe('cluster', () => {
    let cluster: RedisCluster
    beforeAll(async () => {
      cluster = await startRedisCluster()
    })
    afterAll(async () => {
      await cluster?.stop()
    })

    storeContract('redis-cluster', async () => {
      const store = await connect({ cluster: cluster.nodes, timeoutMs: 1_000 })
      return { store, cleanup: () => store.close() }
    })

    it('keeps every key of one limit on one node and in one slot', async () => {
      const store = await connect({ cluster: cluster.nodes, timeoutMs: 1_000 })
      const k = 'limits.slots|account:frank'
      try {
        await store.consume(k, G5, B)
        await store.consume(k, S10, B)
        await store.consume(k, S10, B + W)
        await store.addDistinct(k, 'a', W, B)
        await store.addDistinct(k, 'a', W, B + W)
        const client = store.client as Cluster
        const masters = client.nodes('master')
        expect(masters).toHaveLength(3)
        const found: { node: number; key: string }[] = []
        for (const [node, redis] of masters.entries()) {
          for (const key of await redis.keys(`bw:{${k}}:*`)) found.push({ node, key })
        }
        expect(found).toHaveLength(7)
        expect(new Set(found.map((f) => f.node)).size).toBe(1)
        const slots = await Promise.all(
          found.map((f) => masters[0]!.call('CLUSTER', 'KEYSLOT', f.key)),
        )
        expect(new Set(slots).size).toBe(1)
      } finally {
        await store.close()
      }
    })
  })
})
