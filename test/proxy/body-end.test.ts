/**
 * How a forwarded body ends. The gateway sends the chunk that completes a body of known length
 * together with the end of the response (one write); every other chunk goes out as it arrives.
 * These pin both halves: bodies arrive whole and exact, a chunk that does not complete the body
 * is not held back (causality, not timing), and a body cut short by the upstream is never passed
 * off as a whole one.
 * @see ../../src/proxy/forward.ts
 */
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { signal, startGw, startUpstream, within, type Upstream } from './helpers.js'

let upstream: Upstream
let gw: Gateway
/** Resolved by the test once the client has the first part of `/split`. */
let firstPartSeen = signal()

beforeAll(async () => {
  upstream = await startUpstream({
    '/small': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' })
      res.end('hello')
    },
    '/empty': (_req, res) => {
      res.writeHead(200, { 'content-length': '0' })
      res.end()
    },
    '/split': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' })
      res.write('first')
      // The rest only once the client has the first part: a gateway holding it would deadlock.
      void firstPartSeen.promise.then(() => res.end('-last'))
    },
    '/short': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' })
      res.write('only part of it')
      setTimeout(() => res.socket?.destroy(), 20)
    },
    '/head': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '42' })
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(42))
    },
  })
  gw = await startGw({
    upstreams: { app: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'app' }],
  })
})

afterAll(async () => {
  await gw?.close()
  await upstream?.close()
})

describe('forwarded response bodies', () => {
  it('a body that arrives in one piece arrives whole, with its length', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${gw.url}/small`)
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-length']).toBe('5')
      expect(await res.body.text()).toBe('hello')
    }
  })

  it('an empty body of length 0 ends the response', async () => {
    const res = await request(`${gw.url}/empty`)
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toBe('')
  })

  it('a chunk that does not complete the body is passed on at once', async () => {
    firstPartSeen = signal()
    const res = await request(`${gw.url}/split`)
    let text = ''
    for await (const piece of res.body) {
      text += String(piece)
      if (text.length >= 5) firstPartSeen.resolve()
    }
    expect(text).toBe('first-last')
  }, 10_000)

  it('a split body is not held back waiting for its end', async () => {
    firstPartSeen = signal()
    const res = await request(`${gw.url}/split`)
    const reader = res.body[Symbol.asyncIterator]()
    const first = await within(reader.next(), 3_000, 'the first part never reached the client')
    expect(String(first.value)).toBe('first')
    firstPartSeen.resolve()
    let rest = ''
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += String(r.value)
    expect(rest).toBe('-last')
  }, 10_000)

  it('a body the upstream cuts short is not passed off as whole', async () => {
    const res = await request(`${gw.url}/short`)
    expect(res.statusCode).toBe(200)
    await expect(res.body.text()).rejects.toThrow()
  })

  it('HEAD: the length is passed on, no body follows, the connection stays usable', async () => {
    const head = await request(`${gw.url}/head`, { method: 'HEAD' })
    expect(head.statusCode).toBe(200)
    expect(head.headers['content-length']).toBe('42')
    expect(await head.body.text()).toBe('')
    const get = await request(`${gw.url}/head`)
    expect(await get.body.text()).toBe('x'.repeat(42))
  })
})
