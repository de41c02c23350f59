import type { ServerResponse } from 'node:http'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { rawRequest, startGw, startUpstream, type Seen, type Upstream } from './helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

let upstream: Upstream
let gw: Gateway

function replyWith(res: ServerResponse, raw: string[], body: string) {
  res.writeHead(200, [...raw, 'content-length', String(Buffer.byteLength(body))])
  res.end(body)
}

beforeAll(async () => {
  upstream = await startUpstream({
    '/hop-response': (req, res) => {
      req.resume()
      replyWith(
        res,
        [
          'Connection',
          'keep-alive, X-Hop-Named',
          'X-Hop-Named',
          'secret',
          'Keep-Alive',
          'timeout=99, max=7',
          'Proxy-Authenticate',
          'Basic realm="x"',
          'X-Kept',
          'yes',
        ],
        'ok',
      )
    },
    '/cookies': (req, res) => {
      req.resume()
      const raw = ['Set-Cookie', 'a=1; Path=/', 'Set-Cookie', 'b=2; Path=/; HttpOnly']
      replyWith(res, [...raw, 'Set-Cookie', 'c=3'], 'ok')
    },
    '/method': (req, res, seen) => {
      req.on('end', () =>
        replyWith(res, ['x-method', seen.method, 'x-bytes', String(seen.bytes)], 'body'),
      )
    },
  })
  gw = await startGw({
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
  })
})

afterAll(async () => {
  await gw.close()
  await upstream.close()
})

function lastSeen(): Seen {
  return upstream.received.at(-1)!
}

describe('proxy: methods', () => {
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const) {
    it(`forwards ${method} with its body and returns the upstream's answer`, async () => {
      const body = method === 'GET' || method === 'HEAD' ? undefined : `payload of ${method}`
      const res = await request(`${gw.url}/method`, {
        method,
        ...(body ? { body, headers: { 'content-type': 'text/plain' } } : {}),
      })
      const text = await res.body.text()
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-method']).toBe(method)
      expect(res.headers['x-bytes']).toBe(String(body?.length ?? 0))
      // HEAD keeps the upstream's Content-Length and sends no body.
      expect(res.headers['content-length']).toBe('4')
      expect(text).toBe(method === 'HEAD' ? '' : 'body')
      expect(lastSeen()).toMatchObject({ method, url: '/method', bytes: body?.length ?? 0 })
    })
  }
})

describe('proxy: request headers', () => {
  it('passes end-to-end headers and sets X-Forwarded-For and a fresh X-Request-Id', async () => {
    const res = await request(`${gw.url}/headers`, {
      headers: {
        accept: 'application/json',
        'x-custom': 'one',
        authorization: 'Bearer t',
        'x-request-id': 'chosen-by-client',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
      },
    })
    await res.body.text()
    const h = lastSeen().headers
    expect(h['x-custom']).toBe('one')
    expect(h.accept).toBe('application/json')
    expect(h.authorization).toBe('Bearer t')
    expect(h['x-forwarded-for']).toBe('127.0.0.1')
    // The client's claims are dropped; by default none is set (server.forwardedHeaders): the
    // Host header goes through as received, and this listener's scheme is always http.
    expect(h['x-forwarded-proto']).toBeUndefined()
    expect(h['x-forwarded-host']).toBeUndefined()
    expect(h.host).toBe(new URL(gw.url).host)
    // The client's id is not trusted (server.trustRequestId is off): the gateway makes its own,
    // sends exactly one upstream and returns the same one to the client.
    expect(h['x-request-id']).toMatch(UUID)
    expect(res.headers['x-request-id']).toBe(h['x-request-id'])
    const ids = lastSeen().rawHeaders.filter(
      (_, i, a) => i % 2 === 0 && /^x-request-id$/i.test(a[i]!),
    )
    expect(ids).toHaveLength(1)
  })

  it('sets X-Forwarded-Proto and -Host when server.forwardedHeaders lists them, and no XFF when it does not', async () => {
    const listed = await startGw({
      server: { forwardedHeaders: ['x-forwarded-proto', 'x-forwarded-host'] },
      upstreams: { up: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'up' }],
    })
    try {
      const res = await request(`${listed.url}/headers`, {
        headers: {
          'x-forwarded-for': '198.51.100.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil.example',
        },
      })
      await res.body.text()
      const h = lastSeen().headers
      expect(h['x-forwarded-proto']).toBe('http')
      expect(h['x-forwarded-host']).toBe(new URL(listed.url).host)
      // Not listed: not set, and the client's claim is not passed on either.
      expect(h['x-forwarded-for']).toBeUndefined()
      expect(h['x-request-id']).toMatch(UUID)
    } finally {
      await listed.close()
    }
  })

  it('drops hop-by-hop request headers and those named in Connection', async () => {
    const res = await rawRequest(
      gw.port,
      [
        'GET /hop-request HTTP/1.1',
        `Host: 127.0.0.1:${gw.port}`,
        'Connection: close, X-Drop-Me, x-also-dropped',
        'X-Drop-Me: 1',
        'X-Also-Dropped: 2',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Trailer: x-t',
        'Upgrade: something',
        'Proxy-Authorization: Basic abc',
        'Proxy-Connection: keep-alive',
        'X-Kept: yes',
        '',
        '',
      ].join('\r\n'),
    )
    expect(res.status).toBe(200)
    const seen = lastSeen()
    expect(seen.url).toBe('/hop-request')
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
    expect(names).toContain('x-kept')
    for (const gone of [
      'x-drop-me',
      'x-also-dropped',
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
    ])
      expect(names).not.toContain(gone)
    // undici sets its own Connection for the upstream hop; the client's tokens are not in it.
    expect(seen.headers.connection ?? '').not.toMatch(/drop/i)
  })

  it('keeps the query string exactly as sent', async () => {
    const res = await request(`${gw.url}/q?b=2&a=1&a=%2F&empty=&plus=a+b`)
    await res.body.text()
    expect(res.statusCode).toBe(200)
    expect(lastSeen().url).toBe('/q?b=2&a=1&a=%2F&empty=&plus=a+b')
  })
})

describe('proxy: response headers', () => {
  it('drops hop-by-hop response headers and those named in Connection', async () => {
    const res = await request(`${gw.url}/hop-response`)
    expect(await res.body.text()).toBe('ok')
    expect(res.headers['x-kept']).toBe('yes')
    expect(res.headers['x-hop-named']).toBeUndefined()
    // The gateway's own listener may announce its keep-alive; the upstream's must not leak.
    expect(String(res.headers['keep-alive'] ?? '')).not.toContain('timeout=99')
    expect(res.headers['proxy-authenticate']).toBeUndefined()
    expect(res.headers['x-request-id']).toMatch(UUID)
  })

  it('keeps every Set-Cookie header, in order', async () => {
    const res = await request(`${gw.url}/cookies`)
    await res.body.text()
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly', 'c=3'])
  })

  it('answers 404 itself for a path no route sends upstream', async () => {
    const other = await startGw({
      upstreams: { up: { url: upstream.url } },
      routes: [{ path: '/api/*', upstream: 'up' }],
    })
    try {
      const before = upstream.received.length
      const res = await request(`${other.url}/elsewhere`)
      const body = await res.body.json()
      expect(res.statusCode).toBe(404)
      expect(body).toEqual({
        error: 'Not Found',
        status: 404,
        requestId: res.headers['x-request-id'],
      })
      expect(upstream.received.length).toBe(before)
    } finally {
      await other.close()
    }
  })
})
