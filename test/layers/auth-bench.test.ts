/**
 * What a JWT policy costs per request, in-process (no sockets): the engine with no policy, and
 * with an auth rule verifying RS256 and ES256 tokens, from the verified-token cache and without
 * it. Prints a table (`npx vitest run test/layers/auth-bench` to see it) and checks the one
 * property the numbers must have: a cached token is answered synchronously, with no crypto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import type { MaybePromise } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw } from '../helpers/engine.js'
import { sign, testKey, type TestKey } from '../helpers/oidc.js'

const ISS = 'https://idp.test'
const N_CACHED = 20_000
const N_UNCACHED = 1_000

let rsa: TestKey
let ec: TestKey
const engines: Engine[] = []
const rows: [string, number][] = []

function engine(auth: boolean, maxEntries = 10_000): Engine {
  const e = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      ...(auth
        ? {
            auth: {
              issuers: [{ issuer: ISS, audience: 'shop-api', keys: [rsa.jwk, ec.jwk] }],
              rules: [{ id: 'api', paths: ['/api/*'], require: { scopes: ['shop'] } }],
              cache: { maxEntries },
            },
          }
        : {}),
    }),
    { store: new MemoryStore() },
  )
  engines.push(e)
  return e
}

/** CPU µs per prepare + inspect of `GET /api/orders` with `token`. */
async function measure(name: string, e: Engine, token: string, n: number): Promise<number> {
  const headers = { authorization: `Bearer ${token}`, 'user-agent': 'bench' }
  const once = (): MaybePromise<unknown> => {
    const { ctx } = e.prepare(raw('GET /api/orders', { headers }))
    return e.inspect(ctx)
  }
  for (let i = 0; i < Math.min(n, 5_000); i++) await once()
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const r = once()
    if (r instanceof Promise) await r
  }
  const cpu = process.cpuUsage(start)
  const us = (cpu.user + cpu.system) / n
  rows.push([name, us])
  return us
}

beforeAll(async () => {
  rsa = await testKey('RS256', 'rsa-1')
  ec = await testKey('ES256', 'ec-1')
})

afterAll(async () => {
  const base = rows.find(([n]) => n === 'no policy')?.[1] ?? 1
  console.log(
    ['engine: prepare + inspect, GET /api/orders (CPU µs per request)']
      .concat(
        rows.map(
          ([n, us]) =>
            `  ${n.padEnd(24)} ${us.toFixed(2).padStart(8)} µs  ${(us / base).toFixed(1).padStart(6)}× no policy`,
        ),
      )
      .join('\n'),
  )
  await Promise.all(engines.map((e) => e.close()))
})

describe('auth: cost per request', () => {
  it('a cached token costs no crypto; an uncached one costs a signature check', async () => {
    const rsToken = await sign(rsa, ISS, { scope: 'shop' })
    const esToken = await sign(ec, ISS, { scope: 'shop' })
    await measure('no policy', engine(false), rsToken, N_CACHED)
    const cached = engine(true)
    const rsCached = await measure('RS256, cached', cached, rsToken, N_CACHED)
    const esCached = await measure('ES256, cached', cached, esToken, N_CACHED)
    const uncached = engine(true, 0)
    const rsUncached = await measure('RS256, uncached', uncached, rsToken, N_UNCACHED)
    const esUncached = await measure('ES256, uncached', uncached, esToken, N_UNCACHED)

    const { ctx } = cached.prepare(
      raw('GET /api/orders', { headers: { authorization: `Bearer ${esToken}` } }),
    )
    expect(cached.inspect(ctx)).not.toBeInstanceOf(Promise)
    // Generous margins: the point is the order of magnitude, on a noisy shared machine.
    expect(rsCached * 3).toBeLessThan(rsUncached)
    expect(esCached * 3).toBeLessThan(esUncached)
  }, 60_000)
})
