/**
 * In-process benchmark of the engine and the stores: CPU time per operation, no sockets.
 * `node dist/bench/engine.js [--redis]` — limit checks per second on the memory store and, with
 * `--redis` (and redis-server on PATH), on a real Redis started for the run.
 */
import { spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { loadGatewayConfig } from '../src/config/gateway-config.js'
import { ConfigSpec } from '../src/config/schema.js'
import type { RawRequest } from '../src/engine/context.js'
import { createEngine } from '../src/engine/engine.js'
import { toEffect } from '../src/engine/effect.js'
import type { Decision } from '../src/engine/types.js'
import { startAdmin } from '../src/admin/admin.js'
import { startGateway } from '../src/proxy/gateway.js'
import { decisionChannel } from '../src/telemetry/channels.js'
import { createLogger, subscribeLog } from '../src/telemetry/log.js'
import { upstreamHeaders } from '../src/proxy/forward.js'
import { MemoryStore } from '../src/store/memory.js'
import { deviceCookies } from '../src/identity/device.js'
import { RedisStore } from '../src/store/redis.js'
import type { Limit } from '../src/store/store.js'

const DEMO = fileURLToPath(new URL('../../examples/shop/bulwark.yaml', import.meta.url))

function rawGet(path: string, i: number): RawRequest {
  const headers = {
    host: 'shop.test',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
    accept: 'application/json',
    'accept-language': 'en-GB,en;q=0.9',
    'accept-encoding': 'gzip, br',
  }
  return {
    method: 'GET',
    url: path,
    headers,
    rawHeaders: Object.entries(headers).flat(),
    remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    readBody: async () => Buffer.alloc(0),
  }
}

/**
 * Requests of one browser on one keep-alive connection: its headers (each request's values new
 * strings, as node:http gives them), its device cookie, one address.
 */
function browserClient(config: Awaited<ReturnType<typeof loadGatewayConfig>>) {
  const set = deviceCookies(config.identity.device!).read({}, Date.now()).setCookie!
  const headers: Record<string, string> = {
    host: 'shop.test',
    'sec-ch-ua': '"Chromium";v="131", "Not-A.Brand";v="99"',
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': '"Linux"',
    'user-agent':
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36',
    accept: 'application/json, text/plain, */*',
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'cors',
    'accept-encoding': 'gzip, deflate, br, zstd',
    'accept-language': 'en-GB,en;q=0.9',
    cookie: set.slice(0, set.indexOf(';')),
  }
  const connection = {}
  return (path: string): RawRequest => {
    const fresh: Record<string, string> = {}
    for (const k in headers) fresh[k] = ` ${headers[k]!}`.slice(1)
    return {
      method: 'GET',
      url: path,
      headers: fresh,
      rawHeaders: Object.entries(fresh).flat(),
      remoteAddress: '10.1.2.3',
      connection,
      httpVersion: '1.1',
      readBody: async () => Buffer.alloc(0),
    }
  }
}

/** CPU µs per call of `fn` over `n` calls (after a warm-up), and calls per CPU second. */
async function measure(name: string, n: number, fn: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < Math.min(n, 20_000); i++) await fn(i)
  const start = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const r = fn(i)
    if (r instanceof Promise) await r
  }
  const cpu = process.cpuUsage(start)
  const us = (cpu.user + cpu.system) / n
  const wall = performance.now() - t0
  console.log(
    `${name.padEnd(44)} ${us.toFixed(2).padStart(8)} µs CPU/op  ${Math.round(1e6 / us)
      .toLocaleString('en')
      .padStart(12)} ops/CPU-s  ${Math.round((n / wall) * 1000)
      .toLocaleString('en')
      .padStart(12)} ops/s wall`,
  )
}

/** CPU and wall time per op with 64 ops in flight (CPU is this process's: the client side). */
async function inFlight(name: string, n: number, op: (i: number) => Promise<unknown>) {
  const start = process.cpuUsage()
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) await op(next++)
    }),
  )
  const cpu = process.cpuUsage(start)
  console.log(
    `${name.padEnd(44)} ${((cpu.user + cpu.system) / n).toFixed(2).padStart(8)} µs CPU/op  ${''.padStart(22)} ${Math.round(
      (n / (performance.now() - t0)) * 1000,
    )
      .toLocaleString('en')
      .padStart(12)} ops/s wall`,
  )
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function main() {
  const withRedis = process.argv.includes('--redis')
  const empty = createEngine(
    ConfigSpec.parse({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
    }),
    { store: new MemoryStore() },
  )
  process.env.SHOP_URL ??= 'http://127.0.0.1:3001'
  const demoConfig = await loadGatewayConfig(DEMO)
  const demo = createEngine(demoConfig, { store: new MemoryStore() })
  const none = new Set<string>()

  console.log('engine (per request, no sockets)')
  await measure('prepare + inspect, empty policy', 300_000, (i) => {
    const { ctx } = empty.prepare(rawGet('/api/products/7', i))
    return empty.inspect(ctx)
  })
  await measure('prepare + inspect + effect + headers, empty', 300_000, (i) => {
    const r = rawGet('/api/products/7', i)
    const { ctx } = empty.prepare(r)
    const d = empty.inspect(ctx) as ReturnType<typeof empty.inspect> & object
    toEffect(d as never, ctx.id)
    const h = upstreamHeaders(r.rawHeaders, none, undefined)
    h.push('x-forwarded-for', '1.2.3.4')
    return h
  })
  await measure('prepare + inspect, demo policy (GET product)', 300_000, (i) => {
    const { ctx } = demo.prepare(rawGet(`/api/products/${i % 50}`, i))
    return demo.inspect(ctx)
  })
  // The demo policy's cost for the traffic it lets through (as `bulwark-demo-open`: every
  // limit and threshold raised out of reach, every policy still run): one browser on a
  // keep-alive connection with its device cookie, reading products, each answer observed.
  const open = createEngine(
    {
      ...demoConfig,
      limits: {
        ...demoConfig.limits!,
        rules: demoConfig.limits!.rules.map((r) => ({ ...r, limit: 1e9 })),
      },
      behavior: {
        ...demoConfig.behavior!,
        thresholds: demoConfig.behavior!.thresholds.map((t) => ({ ...t, score: t.score * 1e9 })),
        velocity: demoConfig.behavior!.velocity.map((v) => ({ ...v, limit: 1e9 })),
      },
    },
    { store: new MemoryStore() },
  )
  const browser = browserClient(demoConfig)
  const answered = { status: 200, ms: 2, byGateway: false }
  await measure('+ observe, demo policy open, one browser', 300_000, (i) => {
    const { ctx } = open.prepare(browser(`/api/products/${1 + (i % 1000)}`))
    const d = open.inspect(ctx)
    if (d instanceof Promise) return d.then((r) => open.observe(ctx, answered, r))
    open.observe(ctx, answered, d)
    return undefined
  })
  await open.close()

  // The data path's cost of the admin listener: what its subscribers (metrics, recent events,
  // traffic summary, live feed) add to every request's decision event, next to the log's.
  const outcome = { status: 200, ms: 2, byGateway: false }
  const published = (i: number) => {
    const { ctx } = empty.prepare(rawGet('/api/products/7', i))
    const decision = empty.inspect(ctx) as Decision
    empty.observe(ctx, outcome, decision)
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ ctx, decision, outcome })
  }
  const log = subscribeLog(createLogger('info', new PassThrough()), false)
  console.log('\nadmin listener (per request: prepare + inspect + observe + decision event)')
  await measure('log subscriber only', 300_000, published)
  const gw = await startGateway(empty.config, { port: 0, host: '127.0.0.1' })
  const admin = await startAdmin({
    config: { ...empty.config.admin, enabled: true },
    gateway: gw,
    port: 0,
    processMetrics: false,
  })
  await measure('log + admin subscribers', 300_000, published)
  await admin.close()
  await gw.close()
  log.unsubscribe()

  const limit: Limit = { algorithm: 'gcra', limit: 1_000_000, windowMs: 60_000 }
  const sliding: Limit = { algorithm: 'sliding-window', limit: 1_000_000, windowMs: 60_000 }
  const mem = new MemoryStore()
  console.log('\nlimit checks (in-process)')
  await measure('memory consume gcra, 100k keys', 500_000, (i) =>
    mem.consume(`k${i % 100_000}`, limit, Date.now()),
  )
  await measure('memory consume sliding-window, 100k keys', 500_000, (i) =>
    mem.consume(`s${i % 100_000}`, sliding, Date.now()),
  )
  await measure('memory addDistinct, 10k keys', 500_000, (i) =>
    mem.addDistinct(`d${i % 10_000}`, String(i % 97), 60_000, Date.now()),
  )

  if (withRedis) {
    const port = await freePort()
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    try {
      const redis = new RedisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 1000 })
      for (let i = 0; i < 50; i++) {
        try {
          await redis.ready(200)
          break
        } catch {
          /* still starting */
        }
      }
      await measure('redis consume gcra (sequential, 1 in flight)', 20_000, (i) =>
        redis.consume(`k${i % 1000}`, limit, Date.now()),
      )
      // Concurrency: 64 in flight, as a gateway under load has.
      await inFlight('redis consume gcra (64 in flight)', 100_000, (i) =>
        redis.consume(`k${i % 1000}`, limit, Date.now()),
      )
      // A request of the 3-rule bench target: gcra, sliding window and a distinct count, as one
      // batch (what the limits layer sends), 64 requests in flight.
      const slidingL: Limit = { algorithm: 'sliding-window', limit: 1e9, windowMs: 60_000 }
      await inFlight('redis 3-rule batch per request (64 in flight)', 100_000, (i) =>
        redis.batch(
          [
            { op: 'consume', key: `ip|${i % 1000}`, limit },
            { op: 'consume', key: `route|${i % 1000}`, limit: slidingL },
            { op: 'distinct', key: `fp|${i % 100}`, limit: slidingL, member: String(i % 50) },
          ],
          Date.now(),
        ),
      )
      await redis.close()
    } finally {
      child.kill()
    }
  }
  await demo.close()
  await empty.close()
}

await main()
