/**
 * Graceful shutdown: `close()` stops accepting at once, lets requests in flight finish (up to
 * `server.shutdownTimeout`), then resolves. The upstream holds each answer until the test has
 * seen the listener refuse a new connection, so the order is forced, not timed.
 */
import { createHash } from 'node:crypto'
import { get, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { Agent, request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { signal, startGw, startUpstream, within, type Upstream } from './helpers.js'

const MiB = 1024 * 1024
const BIG = 8 * MiB
const big = Buffer.alloc(BIG, 'z')

let upstream: Upstream
let arrived = signal()
let release = signal()
let agent: Agent | undefined

beforeAll(async () => {
  upstream = await startUpstream({
    '/slow': (req, res) => {
      req.resume()
      arrived.resolve()
      void release.promise.then(() => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4 })
        res.end('done')
      })
    },
    '/slow-big': (req, res) => {
      req.resume()
      arrived.resolve()
      void release.promise.then(() => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG })
        res.end(big)
      })
    },
  })
})

afterEach(async () => {
  release.resolve()
  await agent?.close()
  agent = undefined
})

afterAll(async () => {
  await upstream.close()
})

/** Resolves with the error code of a fresh connection attempt ('' if it connected). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.on('connect', () => {
      s.destroy()
      resolve('')
    })
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

/**
 * Starts a gateway, sends `send(url)` through it, waits until the upstream holds the request,
 * then starts closing the gateway.
 */
async function startDraining<T>(send: (url: string) => Promise<T>) {
  arrived = signal()
  release = signal()
  const gw = await startGw({
    server: { shutdownTimeout: '15s' },
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
  })
  const response = send(gw.url)
  await within(arrived.promise, 5_000, 'the request never reached the upstream')
  const order: string[] = []
  const closed = gw.close().then(() => void order.push('closed'))
  return { gw, response, closed, order }
}

/**
 * node:http rather than undici for the slow reader: undici 7.30's client fails a keep-alive or
 * close-delimited body whose FIN arrives while it is paused ("other side closed", or an
 * assertion), whatever the server did right.
 */
function slowGet(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { agent: false }, resolve).on('error', reject))
}

describe('proxy: graceful shutdown', () => {
  it('refuses new connections but lets the request in flight finish with 200', async () => {
    agent = new Agent()
    const { gw, response, closed, order } = await startDraining((url) =>
      request(`${url}/slow`, { dispatcher: agent }),
    )
    expect(await tryConnect(gw.port)).toBe('ECONNREFUSED')
    // close() is still waiting for the request in flight, which the gateway counts.
    expect(gw.inFlight).toBe(1)
    order.push('released')
    release.resolve()
    const res = await response
    expect(res.statusCode).toBe(200)
    // Answered while draining: the client is told not to reuse the connection.
    expect(res.headers.connection).toBe('close')
    expect(await res.body.text()).toBe('done')
    await within(closed, 10_000, 'close() did not resolve after the last request finished')
    expect(order).toEqual(['released', 'closed'])
    expect(gw.inFlight).toBe(0)
  })

  it('does not cut a large in-flight response short', async () => {
    const { gw, response, closed } = await startDraining((url) => slowGet(`${url}/slow-big`))
    expect(await tryConnect(gw.port)).toBe('ECONNREFUSED')
    release.resolve()
    const res = await response
    expect(res.statusCode).toBe(200)
    const hash = createHash('sha256')
    let bytes = 0
    // Read slowly, so the gateway's socket is still full when the upstream is done.
    for await (const c of res as AsyncIterable<Buffer>) {
      bytes += c.length
      hash.update(c)
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(bytes).toBe(BIG)
    expect(hash.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'))
    await within(closed, 10_000, 'close() did not resolve after the last request finished')
  })
})
