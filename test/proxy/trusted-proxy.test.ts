/**
 * Client IP claims: believed only from a trusted proxy. The test client connects from
 * 127.0.0.1, so trusting `127.0.0.1` makes it a proxy and trusting `10.0.0.0/8` does not.
 */
import { createServer } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { toEvent } from '../../src/telemetry/event.js'
import { captureDecisions, gwConfig, startGw, startUpstream, type Upstream } from './helpers.js'
import { onCi } from '../helpers/redis.js'

const SPOOFED = {
  'x-forwarded-for': '203.0.113.9',
  'x-real-ip': '203.0.113.9',
  'true-client-ip': '203.0.113.9',
  'cf-connecting-ip': '203.0.113.9',
  forwarded: 'for=203.0.113.9',
  'x-client-ip': '203.0.113.9',
}

let upstream: Upstream
let untrusted: Gateway
let otherNetwork: Gateway
let trusted: Gateway
const decisions = captureDecisions()

/** Whether this host can listen dual-stack on `::` (IPv4 clients then appear as ::ffff:a.b.c.d). */
const dualStack = await new Promise<boolean>((resolve) => {
  const s = createServer()
  s.once('error', () => resolve(false))
  s.listen(0, '::', () => s.close(() => resolve(true)))
})

beforeAll(async () => {
  upstream = await startUpstream()
  const base = {
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
  }
  untrusted = await startGw(base)
  otherNetwork = await startGw({ ...base, server: { trustedProxies: ['10.0.0.0/8'] } })
  trusted = await startGw({
    ...base,
    server: {
      trustedProxies: ['127.0.0.1'],
      // All three, so the test below shows the proxy's are kept rather than doubled.
      forwardedHeaders: ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'],
    },
  })
})

afterAll(async () => {
  decisions.stop()
  await Promise.all([untrusted.close(), otherNetwork.close(), trusted.close()])
  await upstream.close()
})

/** Sends a request and returns what the upstream got and the decision message. */
async function send(gw: Gateway, headers: Record<string, string>) {
  const res = await request(`${gw.url}/who`, { headers })
  await res.body.text()
  expect(res.statusCode).toBe(200)
  const id = res.headers['x-request-id'] as string
  const seen = upstream.received.at(-1)!
  expect(seen.headers['x-request-id']).toBe(id)
  // Published after the answer: wait for it rather than assume it came first.
  await expect.poll(() => decisions.byId(id)).toBeDefined()
  return { seen: seen.headers, message: decisions.byId(id)! }
}

describe('proxy: client IP from an untrusted client', () => {
  for (const [name, gw] of [
    ['no trusted proxies', () => untrusted],
    ['trusted proxies elsewhere', () => otherNetwork],
  ] as const) {
    it(`ignores spoofed forwarding headers (${name})`, async () => {
      const { seen, message } = await send(gw(), SPOOFED)
      expect(seen['x-forwarded-for']).toBe('127.0.0.1')
      for (const h of Object.keys(SPOOFED).filter((h) => h !== 'x-forwarded-for'))
        expect(seen[h], h).toBeUndefined()
      expect(message.ctx.identity).toMatchObject({ ip: '127.0.0.1', ipSource: 'socket', ipHop: 0 })
    })
  }
})

describe('proxy: client IP from a trusted proxy', () => {
  it('keeps the chain, appends the proxy, and names the client in ctx and event', async () => {
    const { seen, message } = await send(trusted, {
      'x-forwarded-for': '198.51.100.7, 203.0.113.9',
    })
    expect(seen['x-forwarded-for']).toBe('198.51.100.7, 203.0.113.9, 127.0.0.1')
    // The rightmost hop the trusted proxy did not vouch for is the client.
    expect(message.ctx.identity).toMatchObject({
      ip: '203.0.113.9',
      ipSource: 'x-forwarded-for',
      ipHop: 1,
    })
    const event = toEvent(message.ctx, message.decision, message.outcome)
    expect(event.client.ip).toBe('203.0.113.9')
    expect(event.status).toBe(200)
  })

  it("keeps the proxy's X-Forwarded-Proto and -Host instead of adding a second one", async () => {
    const { seen } = await send(trusted, {
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example',
    })
    // One value each: a backend reading `https, http` may take either.
    expect(seen['x-forwarded-proto']).toBe('https')
    expect(seen['x-forwarded-host']).toBe('shop.example')
  })

  it('uses the socket when the trusted proxy sends no chain', async () => {
    const { seen, message } = await send(trusted, {})
    expect(seen['x-forwarded-for']).toBe('127.0.0.1')
    expect(message.ctx.identity).toMatchObject({ ip: '127.0.0.1', ipSource: 'socket' })
  })
})

// A host without IPv6 cannot listen on `::`: say so, and on CI (which has it) fail.
if (!dualStack) {
  if (onCi()) throw new Error('this host cannot listen dual-stack on "::" (IPv6 is off)')
  console.warn('[bulwark] skipped the dual-stack client IP test: this host cannot listen on "::"')
}

describe('proxy: client IP on a dual-stack listener', () => {
  it.skipIf(!dualStack)('sends the IPv4 client as a.b.c.d, not ::ffff:a.b.c.d', async () => {
    const base = {
      upstreams: { up: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'up' }],
    }
    const gw = await startGateway(gwConfig(base), { port: 0, host: '::' })
    try {
      const res = await request(`http://127.0.0.1:${gw.port}/dual`)
      await res.body.text()
      expect(res.statusCode).toBe(200)
      const seen = upstream.received.at(-1)!
      expect(seen.url).toBe('/dual')
      // The same form the gateway's own identity uses, so logs and backend agree.
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1')
    } finally {
      await gw.close()
    }
  })
})
