/**
 * Upstream failures and slow clients. Every wait here is a generous ceiling on something that
 * must happen, never a measurement.
 */
import { connect, type Socket } from 'node:net'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import {
  captureDecisions,
  closedPort,
  signal,
  startGw,
  startUpstream,
  within,
  type Upstream,
} from './helpers.js'

let upstream: Upstream
/** Responses the slow route is holding; released after each test. */
const held: (() => void)[] = []
const opened: Gateway[] = []
const sockets: Socket[] = []

beforeAll(async () => {
  upstream = await startUpstream({
    '/never': (req, res) => {
      req.resume()
      held.push(() => res.destroy())
    },
  })
})

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const release of held.splice(0)) release()
  await Promise.all(opened.splice(0).map((g) => g.close()))
})

afterAll(async () => {
  await upstream.close()
})

async function gateway(obj: Record<string, unknown>): Promise<Gateway> {
  const gw = await startGw(obj)
  opened.push(gw)
  return gw
}

/** Connects, runs `drive` with the socket, resolves with all it received once it closes. */
function untilClosed(port: number, drive: (s: Socket) => void): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    sockets.push(s)
    let got = ''
    s.setEncoding('latin1')
    s.on('data', (d: string) => (got += d))
    s.on('error', () => {})
    s.on('close', () => resolve(got))
    s.on('connect', () => drive(s))
  })
}

describe('proxy: upstream failures', () => {
  it('answers 502 with a JSON body when the upstream is down', async () => {
    const port = await closedPort()
    const gw = await gateway({
      upstreams: { down: { url: `http://127.0.0.1:${port}` } },
      routes: [{ path: '/*', upstream: 'down' }],
    })
    const res = await request(`${gw.url}/api/x`)
    expect(res.statusCode).toBe(502)
    expect(res.headers['content-type']).toBe('application/json')
    const id = res.headers['x-request-id']
    expect(id).toEqual(expect.any(String))
    expect(await res.body.json()).toEqual({ error: 'Bad Gateway', status: 502, requestId: id })
  })

  it('answers 504 when the upstream sends no headers within upstreams.x.timeout', async () => {
    const gw = await gateway({
      upstreams: { slow: { url: upstream.url, timeout: '300ms' } },
      routes: [{ path: '/*', upstream: 'slow' }],
    })
    const decisions = captureDecisions()
    try {
      const res = await request(`${gw.url}/never`)
      expect(res.statusCode).toBe(504)
      expect(res.headers['content-type']).toBe('application/json')
      const id = res.headers['x-request-id'] as string
      expect(await res.body.json()).toEqual({
        error: 'Gateway Timeout',
        status: 504,
        requestId: id,
      })
      expect(upstream.received.at(-1)!.url).toBe('/never')
      expect(decisions.byId(id)?.outcome).toMatchObject({ status: 504, byGateway: true })
    } finally {
      decisions.stop()
    }
  })
})

describe('proxy: slow clients', () => {
  it('cuts off a client that never finishes its headers (server.headersTimeout)', async () => {
    const gw = await gateway({
      server: { headersTimeout: '300ms' },
      upstreams: { up: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'up' }],
    })
    const before = upstream.received.length
    let lines = 0
    // Slowloris: a header line every 50 ms keeps the socket busy but never ends the head.
    const got = await within(
      untilClosed(gw.port, (s) => {
        s.write(`GET /slow HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\n`)
        const t = setInterval(() => {
          if (s.destroyed) return clearInterval(t)
          s.write(`X-Drip-${lines++}: a\r\n`)
        }, 50)
        s.on('close', () => clearInterval(t))
      }),
      10_000,
      'the gateway kept a connection whose headers never ended',
    )
    expect(got).toMatch(/^HTTP\/1\.1 408 /)
    expect(upstream.received.length).toBe(before)
  })

  it('cuts off a body trickled a byte at a time when server.bodyTimeout runs out', async () => {
    const gw = await gateway({
      server: { bodyTimeout: '500ms' },
      upstreams: { up: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'up' }],
    })
    const decisions = captureDecisions()
    const length = 100_000
    let sent = 0
    try {
      const got = await within(
        untilClosed(gw.port, (s) => {
          s.write(
            `POST /trickle HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Length: ${length}\r\n\r\n`,
          )
          // One byte every 10 ms: each read is quick, only the total is too slow.
          const t = setInterval(() => {
            if (s.destroyed) return clearInterval(t)
            s.write('x')
            sent++
          }, 10)
          s.on('close', () => clearInterval(t))
        }),
        10_000,
        'the gateway kept reading a trickled body past server.bodyTimeout',
      )
      expect(sent).toBeLessThan(length)
      // 408 if the answer got out before the socket was destroyed; a bare close is fine too.
      if (got !== '') expect(got).toMatch(/^HTTP\/1\.1 408 /)
      const timedOut = signal()
      const poll = setInterval(() => {
        if (decisions.messages.some((m) => m.outcome.status === 408)) timedOut.resolve()
      }, 10)
      await within(timedOut.promise, 5_000, 'no decision with status 408 was published').finally(
        () => clearInterval(poll),
      )
      const m = decisions.messages.find((m) => m.outcome.status === 408)!
      expect(m.ctx.path).toBe('/trickle')
      expect(m.decision.decisive?.rule).toBe('request.body-timeout')
    } finally {
      decisions.stop()
    }
  })
})
