/**
 * The tarpit: its caps as a unit (fake timers), then through the gateway over real sockets —
 * delayed fakes answered by the gateway itself, overflow by closing or a plain 429, the byte
 * cap, slots freed when a client leaves, held answers flushed on shutdown, caps on reload.
 */
import { connect, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { createTarpit } from '../../src/proxy/tarpit.js'
import { decisionChannel, type DecisionMessage } from '../../src/telemetry/channels.js'
import { gwConfig, rawGet, startGw, startUpstream, type Upstream } from './helpers.js'

describe('tarpit: caps', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('holds up to maxConcurrent answers and maxBytes, fires each after its delay', () => {
    const t = createTarpit({ maxConcurrent: 3, maxBytes: 100, overflow: 'close' })
    const fired: number[] = []
    expect(t.hold(1_000, 10, () => fired.push(1))).toBeTypeOf('function')
    expect(t.hold(2_000, 10, () => fired.push(2))).toBeTypeOf('function')
    expect(t.hold(3_000, 90, () => fired.push(3))).toBeUndefined() // 110 bytes > 100
    expect(t.hold(3_000, 80, () => fired.push(4))).toBeTypeOf('function')
    expect(t.hold(3_000, 0, () => fired.push(5))).toBeUndefined() // 4 > 3 answers
    expect(t).toMatchObject({ active: 3, bytes: 100, peak: 3, overflowed: 2 })
    vi.advanceTimersByTime(1_000)
    expect(fired).toEqual([1])
    expect(t).toMatchObject({ active: 2, bytes: 90 })
    vi.advanceTimersByTime(2_000)
    expect(fired).toEqual([1, 2, 4])
    expect(t).toMatchObject({ active: 0, bytes: 0, peak: 3, overflowed: 2 })
  })

  it('frees a slot when released early, never twice, and never fires a released answer', () => {
    const t = createTarpit({ maxConcurrent: 1, maxBytes: 1_000, overflow: '429' })
    const fire = vi.fn()
    const release = t.hold(5_000, 10, fire)!
    release()
    release()
    expect(t).toMatchObject({ active: 0, bytes: 0 })
    expect(t.hold(5_000, 10, () => {})).toBeTypeOf('function')
    vi.advanceTimersByTime(10_000)
    expect(fire).not.toHaveBeenCalled()
  })

  it('flushes every held answer at once, and takes new caps', () => {
    const t = createTarpit({ maxConcurrent: 2, maxBytes: 1_000, overflow: 'close' })
    const fired: number[] = []
    t.hold(60_000, 1, () => fired.push(1))
    t.hold(60_000, 1, () => fired.push(2))
    t.flush()
    expect(fired).toEqual([1, 2])
    expect(t.active).toBe(0)
    vi.advanceTimersByTime(60_000)
    expect(fired).toEqual([1, 2])
    t.configure({ maxConcurrent: 1, maxBytes: 1_000, overflow: '429' })
    expect(t.hold(1, 1, () => {})).toBeTypeOf('function')
    expect(t.hold(1, 1, () => {})).toBeUndefined()
    expect(t.options.overflow).toBe('429')
  })
})

/** A request on its own connection, left open: its socket and its (eventual) raw answer. */
function held(port: number, target: string, extra: readonly string[] = []) {
  const socket: Socket = connect(port, '127.0.0.1')
  let data = ''
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1')
      const end = data.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(data)?.[1]
      if (end >= 0 && length !== undefined && data.length - end - 4 >= Number(length)) resolve(data)
    })
    socket.on('close', () => resolve(data))
    socket.on('error', () => {})
  })
  const head = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...extra]
  socket.write(`${head.join('\r\n')}\r\n\r\n`)
  return { socket, answer }
}

async function until(cond: () => boolean, what: string, ms = 5_000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('tarpit: through the gateway', () => {
  let up: Upstream
  let gw: Gateway | undefined
  const sockets: Socket[] = []

  beforeEach(async () => {
    up = await startUpstream()
  })
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy()
    await gw?.close()
    gw = undefined
    await up.close()
  })

  // Clients come through a trusted proxy, so bots and people have their own IPs (and browsers).
  const BOT = ['X-Forwarded-For: 203.0.113.9', 'User-Agent: scanner/1.0']
  const PERSON = { 'x-forwarded-for': '192.0.2.1', 'user-agent': 'Mozilla/5.0' }

  function start(tarpit: Record<string, unknown>, delay: string | number = '30s') {
    return startGw({
      server: { trustedProxies: ['127.0.0.1'] },
      upstreams: { app: { url: up.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      deception: {
        seed: 1,
        canaries: { secret: 'tarpit-test-canary-secret' },
        honeypots: [{ id: 'env', paths: ['/.env'], fake: 'env', delay }],
        tarpit,
      },
    })
  }

  function hold(target = '/.env') {
    const h = held(gw!.port, target, BOT)
    sockets.push(h.socket)
    return h
  }

  it('answers a delayed fake itself, after holding it, and never asks the upstream', async () => {
    gw = await start({}, '300ms')
    const h = hold()
    await until(() => gw!.tarpit.active === 1, 'the answer to be held')
    const answer = await h.answer
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(answer).toContain('content-type: text/plain; charset=utf-8')
    expect(answer).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/)
    expect(answer).toMatch(/AWS_ACCESS_KEY_ID=AKIA[A-Z2-7]{16}\n/)
    expect(gw.tarpit).toMatchObject({ active: 0, bytes: 0, peak: 1 })
    expect(up.received).toEqual([])
  })

  it('beyond maxConcurrent closes the connection at once (overflow: close)', async () => {
    gw = await start({ maxConcurrent: 2 })
    hold()
    hold()
    await until(() => gw!.tarpit.active === 2, 'two held answers')
    const over = await rawGet(gw.port, '/.env', BOT)
    expect(over.status).toBe(0)
    expect(over.raw).toBe('')
    expect(gw.tarpit).toMatchObject({ active: 2, overflowed: 1 })
    // a person's request is not held, so not capped
    expect((await fetch(`${gw.url}/api/products/1`, { headers: PERSON })).status).toBe(200)
  })

  it('beyond maxConcurrent answers a plain 429 (overflow: 429)', async () => {
    gw = await start({ maxConcurrent: 1, overflow: 429 })
    hold()
    await until(() => gw!.tarpit.active === 1, 'a held answer')
    const over = await rawGet(gw.port, '/.env', BOT)
    expect(over.status).toBe(429)
    expect(over.headers.connection).toEqual(['close'])
    expect(JSON.parse(over.body)).toMatchObject({ status: 429 })
  })

  it('caps the bytes held', async () => {
    gw = await start({ maxBytes: '1kb', overflow: '429' })
    hold()
    await until(() => gw!.tarpit.active === 1, 'a held answer')
    expect(gw.tarpit.bytes).toBeGreaterThan(512) // the .env fake is about 700 bytes
    expect((await rawGet(gw.port, '/.env', BOT)).status).toBe(429)
    expect(gw.tarpit.active).toBe(1)
  })

  it('frees the slot when the client leaves, and still reports the request', async () => {
    gw = await start({ maxConcurrent: 1, overflow: '429' })
    const seen: DecisionMessage[] = []
    const onDecision = (m: unknown) => seen.push(m as DecisionMessage)
    decisionChannel.subscribe(onDecision)
    const h = hold()
    await until(() => gw!.tarpit.active === 1, 'a held answer')
    expect(seen).toEqual([])
    h.socket.destroy()
    await until(() => gw!.tarpit.active === 0, 'the slot to be freed')
    expect(gw.tarpit.bytes).toBe(0)
    await until(() => seen.length === 1, 'the decision event')
    decisionChannel.unsubscribe(onDecision)
    // Nothing was sent (status 0), and the event still says what the gateway decided and why.
    expect(seen[0]!.outcome).toMatchObject({ status: 0, byGateway: true })
    expect(seen[0]!.decision.action).toBe('deceive')
    hold()
    await until(() => gw!.tarpit.active === 1, 'the slot to be taken again')
  })

  it('holds chaos answers for flagged clients too', async () => {
    gw = await startGw({
      server: { trustedProxies: ['127.0.0.1'] },
      upstreams: { app: { url: up.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      deception: {
        seed: 1,
        honeypots: [{ id: 'env', paths: ['/.env'], delay: 0 }],
        chaos: { weights: { '404': 1 }, delay: '30s' },
        tarpit: { maxConcurrent: 1, overflow: '429' },
      },
    })
    expect((await rawGet(gw.port, '/.env', BOT)).status).toBe(200)
    hold('/api/products/1')
    await until(() => gw!.tarpit.active === 1, 'the chaos answer to be held')
    expect((await rawGet(gw.port, '/api/products/2', BOT)).status).toBe(429)
    expect(up.received).toEqual([])
  })

  it('sends every held answer on shutdown instead of waiting out the delays', async () => {
    gw = await start({})
    const h = hold()
    await until(() => gw!.tarpit.active === 1, 'a held answer')
    const closing = gw.close()
    const answer = await h.answer
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(answer).toContain('connection: close')
    await closing
    gw = undefined
  })

  it('takes new caps on reload, keeping the answers already held', async () => {
    gw = await start({ maxConcurrent: 5 })
    hold()
    hold()
    await until(() => gw!.tarpit.active === 2, 'two held answers')
    const next = gwConfig({
      server: { trustedProxies: ['127.0.0.1'] },
      upstreams: { app: { url: up.url } },
      routes: [{ path: '/*', upstream: 'app' }],
      deception: {
        honeypots: [{ id: 'env', paths: ['/.env'], delay: '30s' }],
        tarpit: { maxConcurrent: 2, overflow: '429' },
      },
    })
    await gw.reload(next)
    expect(gw.tarpit.active).toBe(2)
    expect((await rawGet(gw.port, '/.env', BOT)).status).toBe(429)
  })
})
