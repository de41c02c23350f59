/**
 * A client that hangs up once its request is on its way to the backend, so it never reads the
 * answer: the backend still checked the guess (a voucher code, an OTP), so an outcome limit must
 * keep counting it. Red team 8: the gateway gave every such place back, and 100 of 100 guesses
 * reached the backend past a limit of 5.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import {
  closedPort,
  rawRequest,
  signal,
  startGw,
  startUpstream,
  within,
  type Upstream,
} from './helpers.js'

let upstream: Upstream
let gw: Gateway
/** Resolves when the upstream receives the next request. */
let arrived = signal()
/** Answers the upstream holds until the test lets them go. */
const held: (() => void)[] = []

beforeAll(async () => {
  upstream = await startUpstream({
    // Every code is wrong: 401, sent only when the test releases it (a slow card processor).
    // Reads the guess, then drops the connection: the backend checked it, nobody knows the answer.
    '/api/otp/verify': (req, res) => {
      req.resume()
      req.on('end', () => res.socket?.destroy())
    },
    '/api/vouchers/redeem': (req, res) => {
      req.resume()
      arrived.resolve()
      held.push(() => {
        if (!res.destroyed) res.writeHead(401, { 'content-length': '0' }).end()
      })
    },
  })
  gw = await startGw({
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
    identity: {
      account: [{ body: 'account', paths: ['/api/vouchers/redeem', '/api/otp/verify'] }],
    },
    limits: {
      rules: [
        {
          id: 'otp-guesses',
          paths: ['/api/otp/verify'],
          methods: ['POST'],
          key: ['account'],
          count: 'outcomes',
          outcomes: [401],
          limit: 2,
          window: '1m',
        },
        {
          id: 'voucher-guesses',
          paths: ['/api/vouchers/redeem'],
          methods: ['POST'],
          key: ['account'],
          count: 'outcomes',
          outcomes: [401],
          limit: 3,
          window: '1m',
        },
      ],
    },
  })
})

afterAll(async () => {
  for (const release of held.splice(0)) release()
  await gw.close()
  await upstream.close()
})

function guess(code: number): Buffer {
  const body = JSON.stringify({ account: 'victim', code: String(code).padStart(8, '0') })
  return Buffer.from(
    `POST /api/vouchers/redeem HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

/**
 * Sends one guess and hangs up as soon as the backend has it. Resolves 'backend' when the
 * backend got it, or the gateway's status when the gateway answered first.
 */
function hangUpGuess(code: number): Promise<'backend' | number> {
  arrived = signal()
  const socket: Socket = connect(gw.port, '127.0.0.1')
  socket.write(guess(code))
  const answered = new Promise<number>((resolve) => {
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m) resolve(Number(m[1]))
    })
  })
  return within(
    Promise.race([arrived.promise.then(() => 'backend' as const), answered]),
    5_000,
    `guess ${code}: neither the backend nor the gateway answered`,
  ).finally(() => socket.destroy())
}

describe('a client that hangs up before the answer', () => {
  it('keeps its place in an outcome limit: guesses past the limit never reach the backend', async () => {
    const results: ('backend' | number)[] = []
    for (let i = 0; i < 10; i++) results.push(await hangUpGuess(i))
    // Let the held answers go now that their clients are gone (the gateway sees status 0).
    for (const release of held.splice(0)) release()
    expect(results.slice(0, 3)).toEqual(['backend', 'backend', 'backend'])
    expect(results.slice(3)).toEqual(Array(7).fill(429))
    expect(upstream.received.filter((s) => s.url === '/api/vouchers/redeem')).toHaveLength(3)
    // A client that waits for its answer is refused too: the places are still taken.
    const res = await rawRequest(gw.port, guess(99))
    expect(res.status).toBe(429)
  })

  it('an upstream that drops the connection after reading the guess keeps the place; one that cannot be reached gives it back', async () => {
    const otp = (path: string) => {
      const body = JSON.stringify({ account: 'victim', code: '123456' })
      return Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    }
    const statuses: number[] = []
    for (let i = 0; i < 4; i++)
      statuses.push((await rawRequest(gw.port, otp('/api/otp/verify'))).status)
    // Two 502s (the backend read each guess), then the limit: the third never reaches it.
    expect(statuses).toEqual([502, 502, 429, 429])
    expect(upstream.received.filter((s) => s.url === '/api/otp/verify')).toHaveLength(2)

    // A backend that is down never saw a guess: retries through the outage are not counted.
    const down = await startGw({
      upstreams: { up: { url: `http://127.0.0.1:${await closedPort()}` } },
      routes: [{ path: '/*', upstream: 'up' }],
      identity: { account: [{ body: 'account', paths: ['/api/otp/verify'] }] },
      limits: {
        rules: [
          {
            id: 'otp-guesses',
            paths: ['/api/otp/verify'],
            key: ['account'],
            count: 'outcomes',
            outcomes: [401],
            limit: 2,
            window: '1m',
          },
        ],
      },
    })
    try {
      const seen: number[] = []
      for (let i = 0; i < 4; i++)
        seen.push((await rawRequest(down.port, otp('/api/otp/verify'))).status)
      expect(seen).toEqual([502, 502, 502, 502])
    } finally {
      await down.close()
    }
  })
})
