/**
 * 2,000 concurrent tarpitted connections against one gateway on a small machine: the cap is
 * honoured (1,500 held, the other 500 answered a plain 429 at once), people's requests keep
 * succeeding meanwhile, and memory stays bounded. Functional asserts only, no timing: the
 * latencies are measured and printed for the record (`p99` with and without the load).
 */
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { startGw, startUpstream, type Upstream } from './helpers.js'

const BOTS = 2_000
const CAP = 1_500
const BODY = '{"status":"accepted","message":"Configuration update initiated"}'

let up: Upstream
let gw: Gateway
const sockets: Socket[] = []

beforeAll(async () => {
  up = await startUpstream()
  gw = await startGw({
    server: { trustedProxies: ['127.0.0.1'] },
    upstreams: { app: { url: up.url } },
    routes: [{ path: '/*', upstream: 'app' }],
    deception: {
      seed: 1,
      canaries: { secret: 'load-test-canary-secret' },
      honeypots: [
        { id: 'config-update', paths: ['/api/v2/system/config_update'], body: BODY, delay: '5m' },
      ],
      tarpit: { maxConcurrent: CAP, maxBytes: '1mb', overflow: '429' },
    },
  })
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await gw?.close()
  await up?.close()
})

/** Opens one bot connection (its own IP through the trusted proxy) and sends the trap request. */
function bot(i: number): Promise<{ socket: Socket; status: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1')
    sockets.push(socket)
    let data = ''
    const status = new Promise<number>((done) => {
      socket.on('data', (c: Buffer) => {
        data += c.toString('latin1')
        const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
        if (m) done(Number(m[1]))
      })
      socket.on('close', () => done(0))
    })
    socket.on('error', () => {})
    socket.once('connect', () => {
      socket.write(
        `POST /api/v2/system/config_update HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 10.${i >> 8}.${i & 255}.1\r\nUser-Agent: bot/${i % 7}\r\nContent-Length: 0\r\n\r\n`,
      )
      resolve({ socket, status })
    })
    socket.once('error', reject)
  })
}

/** `n` requests from people, 10 at a time; their latencies in ms. */
async function people(n: number): Promise<number[]> {
  const ms: number[] = []
  let next = 0
  async function worker() {
    while (next < n) {
      const i = next++
      const t0 = performance.now()
      const res = await fetch(`${gw.url}/api/products/${i}`, {
        headers: { 'x-forwarded-for': `192.0.2.${(i % 200) + 1}`, 'user-agent': 'Mozilla/5.0' },
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ method: 'GET', url: `/api/products/${i}` })
      ms.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: 10 }, worker))
  return ms
}

function p99(ms: number[]): number {
  const sorted = [...ms].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length * 0.99)]!
}

async function until(cond: () => boolean, what: string, ms = 30_000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('tarpit: 2,000 concurrent trapped connections', () => {
  it('honours the cap, keeps serving people, and stays within a memory bound', async () => {
    await people(100) // warm up: connections, JIT
    const idle = await people(200)
    const heapBefore = process.memoryUsage().heapUsed

    const bots: { socket: Socket; status: Promise<number> }[] = []
    for (let i = 0; i < BOTS; i += 100) {
      bots.push(...(await Promise.all(Array.from({ length: 100 }, (_, j) => bot(i + j)))))
      // people are served while the bots pile up
      if (i % 500 === 0) await people(20)
    }
    await until(() => gw.tarpit.active + gw.tarpit.overflowed >= BOTS, 'every bot to be decided')

    expect(gw.tarpit.active).toBe(CAP)
    expect(gw.tarpit.peak).toBe(CAP)
    expect(gw.tarpit.overflowed).toBe(BOTS - CAP)
    expect(gw.tarpit.bytes).toBe(CAP * Buffer.byteLength(BODY))
    expect(gw.tarpit.bytes).toBeLessThanOrEqual(gw.tarpit.options.maxBytes)

    // the overflow got the cheapest answer at once; the held ones got nothing yet
    const answered = await Promise.all(
      bots.map((b) => Promise.race([b.status, new Promise<number>((r) => setImmediate(r, -1))])),
    )
    const counts = new Map<number, number>()
    for (const s of answered) counts.set(s, (counts.get(s) ?? 0) + 1)
    expect(Object.fromEntries(counts)).toEqual({ 429: BOTS - CAP, [-1]: CAP })

    const loaded = await people(200)
    const heapAfter = process.memoryUsage().heapUsed
    // Client and server sides of 2,000 connections live in this one process: a few KB each.
    expect(heapAfter - heapBefore).toBeLessThan(96 * 1024 * 1024)
    // No trap ever reached the upstream; every person's request did.
    expect(up.received.filter((r) => r.url.includes('config_update'))).toEqual([])
    expect(up.received.length).toBe(100 + 200 + 4 * 20 + 200)
    console.log(
      `tarpit load: p99 idle ${p99(idle).toFixed(1)}ms, p99 with ${CAP} held ${p99(loaded).toFixed(1)}ms, heap +${((heapAfter - heapBefore) / 1024 / 1024).toFixed(1)}MB`,
    )

    // the bots leave: every slot is freed
    for (const b of bots) b.socket.destroy()
    await until(() => gw.tarpit.active === 0, 'every slot to be freed')
    expect(gw.tarpit.bytes).toBe(0)
  }, 120_000)
})
