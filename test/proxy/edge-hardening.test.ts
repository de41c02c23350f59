/**
 * Headers and framing that would let the backend run another request than the one the policy
 * judged (found by red-teaming the gateway): override headers, client-IP claims under other
 * names, a second Content-Type, `Connection` naming a header the policy read, a malformed Host,
 * chunked HTTP/1.0, an identity header sent twice, a gateway answer while a body still trickles.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policyHeaders } from '../../src/engine/context.js'
import { upstreamHeaders } from '../../src/proxy/forward.js'
import type { Gateway } from '../../src/proxy/gateway.js'
import { noticeChannel, type NoticeMessage } from '../../src/telemetry/channels.js'
import {
  captureDecisions,
  closedPort,
  gwConfig,
  rawGet,
  rawRequest,
  startGw,
  startUpstream,
  within,
  type Upstream,
} from './helpers.js'
import { HS_ISSUER } from '../helpers/engine.js'

let upstream: Upstream
let gw: Gateway
let strip: Gateway

beforeAll(async () => {
  upstream = await startUpstream()
  const base = {
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
    identity: {
      apiKey: { header: 'x-api-key' },
      account: [{ body: 'username', paths: ['/login'] }],
    },
    limits: {
      rules: [
        { id: 'per-key', paths: ['/keyed/*'], key: ['apiKey'], limit: 2, window: '1m' },
        {
          id: 'per-tenant',
          paths: ['/tenant/*'],
          key: ['header:x-tenant'],
          limit: 9,
          window: '1m',
        },
        // Reads the login body (the account is in it), so a body over the cap is the gateway's 413.
        { id: 'per-account', paths: ['/login'], key: ['account'], limit: 5, window: '1m' },
      ],
    },
  }
  gw = await startGw(base)
  strip = await startGw({ ...base, server: { overrideHeaders: 'strip' } })
})

afterAll(async () => {
  await gw.close()
  await strip.close()
  await upstream.close()
})

const lastNames = () =>
  upstream.received
    .at(-1)!
    .rawHeaders.filter((_, i) => i % 2 === 0)
    .map((n) => n.toLowerCase())

describe('edge: headers that re-route a request inside some backends', () => {
  for (const h of [
    'X-Original-URL: /admin',
    'X-Rewrite-URL: /admin',
    'X-HTTP-Method-Override: DELETE',
    'X-Method-Override: DELETE',
    'X-HTTP-Method: DELETE',
    'X-Original-Method: DELETE',
  ]) {
    it(`refuses ${h.split(':')[0]} by default and never forwards it`, async () => {
      const before = upstream.received.length
      const res = await rawGet(gw.port, '/public', [h])
      expect(res.status).toBe(400)
      expect(upstream.received.length).toBe(before)
    })
  }

  for (const target of [
    '/public/p1?_method=DELETE',
    '/public/p1?a=1&_method=delete',
    '/public/p1?%5Fmethod=DELETE',
    '/public/p1?_m%65thod=PUT',
  ])
    it(`refuses a _method query parameter (${target}) and never forwards it`, async () => {
      const before = upstream.received.length
      const res = await rawGet(gw.port, target, [])
      expect(res.status).toBe(400)
      expect(upstream.received.length).toBe(before)
    })

  it('forwards look-alikes of _method, and strips _method under overrideHeaders: strip', async () => {
    expect((await rawGet(gw.port, '/public/p1?my_method=x&_methods=y', [])).status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/public/p1?my_method=x&_methods=y')
    expect((await rawGet(strip.port, '/public/p1?a=1&_method=DELETE&b=2', [])).status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/public/p1?a=1&b=2')
  })

  it('drops what proxies say about the original request line, from an untrusted client', async () => {
    const res = await rawGet(gw.port, '/public', [
      'X-Forwarded-Uri: /admin',
      'X-Forwarded-Path: /admin',
      'X-Forwarded-Method: DELETE',
      'X-Envoy-Original-Path: /admin',
    ])
    expect(res.status).toBe(200)
    const names = lastNames()
    for (const gone of [
      'x-forwarded-uri',
      'x-forwarded-path',
      'x-forwarded-method',
      'x-envoy-original-path',
    ])
      expect(names).not.toContain(gone)
  })

  it('strips them instead under server.overrideHeaders: strip', async () => {
    const res = await rawGet(strip.port, '/public', [
      'X-Original-URL: /admin',
      'X-HTTP-Method-Override: DELETE',
      'X-Kept: 1',
    ])
    expect(res.status).toBe(200)
    const names = lastNames()
    expect(names).toContain('x-kept')
    expect(names).not.toContain('x-original-url')
    expect(names).not.toContain('x-http-method-override')
  })
})

describe('edge: client claims from an untrusted client', () => {
  it('drops client-IP and forwarding claims under other names, and their underscore twins', async () => {
    const claims = [
      'Client-IP: 6.6.6.6',
      'X-Originating-IP: 6.6.6.6',
      'X-Remote-Addr: 6.6.6.6',
      'X-Envoy-External-Address: 6.6.6.6',
      'X-Forwarded-Port: 443',
      'X-Forwarded-Prefix: /admin',
      'X-Host: internal.example',
      'X_Forwarded_For: 6.6.6.6',
      'X_Real_IP: 6.6.6.6',
      'X-Custom_Name: kept',
    ]
    const res = await rawGet(gw.port, '/claims', claims)
    expect(res.status).toBe(200)
    const names = lastNames()
    for (const gone of [
      'client-ip',
      'x-originating-ip',
      'x-remote-addr',
      'x-envoy-external-address',
      'x-forwarded-port',
      'x-forwarded-prefix',
      'x-host',
      'x_forwarded_for',
      'x_real_ip',
    ])
      expect(names).not.toContain(gone)
    // An underscore name that is not a dropped header's twin passes (some APIs use `api_key`).
    expect(names).toContain('x-custom_name')
    // The gateway's own forwarding header carries the socket address, once.
    expect(upstream.received.at(-1)!.headers['x-forwarded-for']).toBe('127.0.0.1')
  })
})

describe('edge: underscore spellings of the headers the policy reads or sets', () => {
  it('does not forward X_Api_Key past a per-key limit, nor X_Tenant past a header facet', async () => {
    const res = await rawGet(gw.port, '/keyed/a', [
      'X_Api_Key: k-1',
      'X_Tenant: globex',
      'X_Request_Id: forged',
      'X_Custom: kept',
    ])
    expect(res.status).toBe(200)
    const names = lastNames()
    for (const gone of ['x_api_key', 'x_tenant', 'x_request_id']) expect(names).not.toContain(gone)
    expect(names).toContain('x_custom')
  })

  it('does not forward the underscore twin of a header a layer sets (a forwarded claim)', () => {
    const out = upstreamHeaders(
      ['X_Roles', 'admin', 'X_User_Id', 'hank', 'Accept', '*/*'],
      new Set(),
      undefined,
      // A token without a roles claim: the gateway removes the client's x-roles ('').
      { 'x-user-id': 'u1', 'x-roles': '' },
      policyHeaders(
        gwConfig({
          auth: {
            issuers: [HS_ISSUER],
            rules: [{ id: 'a', forwardClaims: { roles: 'X-Roles', sub: 'x-user-id' } }],
          },
        }),
      ),
    )
    expect(out).toEqual(['accept', '*/*', 'x-user-id', 'u1'])
    // The guarded set alone is enough (a route the claim rule does not cover).
    expect(
      upstreamHeaders(['X_Roles', 'admin'], new Set(), undefined, undefined, new Set(['x-roles'])),
    ).toEqual([])
  })
})

describe('edge: ambiguous headers', () => {
  it('refuses a second Content-Type', async () => {
    const before = upstream.received.length
    const body = '{"a":1}'
    const res = await rawRequest(
      gw.port,
      [
        'POST /two-types HTTP/1.1',
        `Host: 127.0.0.1:${gw.port}`,
        'Content-Type: application/json',
        'Content-Type: application/x-www-form-urlencoded',
        `Content-Length: ${body.length}`,
        '',
        body,
      ].join('\r\n'),
    )
    expect(res.status).toBe(400)
    expect(upstream.received.length).toBe(before)
  })

  it('refuses a Connection header that names a header the policy reads', async () => {
    for (const named of ['host', 'cookie', 'x-api-key', 'x-tenant']) {
      const res = await rawGet(gw.port, '/conn', [
        `Connection: keep-alive, ${named}`,
        'Cookie: sid=1',
        'X-Api-Key: k',
        'X-Tenant: acme',
      ])
      expect(res.status, named).toBe(400)
    }
    // Naming a header the request does not carry, or one the policy does not read, is fine.
    expect((await rawGet(gw.port, '/conn', ['Connection: keep-alive, cookie'])).status).toBe(200)
    const ok = await rawGet(gw.port, '/conn', ['Connection: x-hop', 'X-Hop: 1'])
    expect(ok.status).toBe(200)
    expect(lastNames()).not.toContain('x-hop')
  })

  it('refuses a malformed Host', async () => {
    for (const host of ['evil.example/../x@y', 'a b', 'x"y']) {
      const res = await rawRequest(
        gw.port,
        `GET /h HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      )
      expect(res.status, host).toBe(400)
    }
    const v6 = await rawRequest(
      gw.port,
      'GET /h HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n',
    )
    expect(v6.status).toBe(200)
  })

  it('refuses Transfer-Encoding on HTTP/1.0 and closes the connection', async () => {
    const res = await rawRequest(
      gw.port,
      `POST /old HTTP/1.0\r\nHost: 127.0.0.1:${gw.port}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    )
    expect(res.status).toBe(400)
    expect(res.headers.connection).toEqual(['close'])
  })

  it('reads an absolute-form target whose query comes before any path as the root', async () => {
    const host = `127.0.0.1:${gw.port}`
    const res = await rawRequest(
      gw.port,
      `GET http://${host}?x=/b HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    )
    expect(res.status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/?x=/b')
  })
})

describe('edge: an identity header sent twice', () => {
  it('is refused: a limit keyed on the joined value would be a fresh key per request', async () => {
    const keyed = (extra: string[]) => rawGet(gw.port, '/keyed/x', extra)
    for (let i = 0; i < 3; i++) {
      const res = await keyed(['X-Api-Key: victim', `X-Api-Key: rotating-${i}`])
      expect(res.status).toBe(400)
    }
    // The same key alone is limited as configured (2 per minute).
    const alone = []
    for (let i = 0; i < 3; i++) alone.push((await keyed(['X-Api-Key: victim'])).status)
    expect(alone).toEqual([200, 200, 429])
  })
})

describe('edge: a gateway answer while the body still trickles', () => {
  it('closes the connection after the answer instead of waiting for the body', async () => {
    const socket = connect(gw.port, '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    // A body far over the inspection cap on a route whose body is read: answered at once (413)…
    socket.write(
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{`,
    )
    let text = ''
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')))
    const timer = setInterval(() => socket.write('a'), 50)
    try {
      // …and the socket is closed by the gateway, though the client keeps sending.
      await within(
        new Promise<void>((resolve) => socket.once('close', () => resolve())),
        3_000,
        'the gateway kept a connection open for a body nobody reads',
      )
    } finally {
      clearInterval(timer)
      socket.destroy()
    }
    expect(text).toMatch(/^HTTP\/1\.1 413/)
    expect(text.toLowerCase()).toContain('connection: close')
  })
})

describe('edge: upstream failures', () => {
  it('are an event naming the upstream and the error, not a silent 502', async () => {
    const dead = await startGw({
      upstreams: { gone: { url: `http://127.0.0.1:${await closedPort()}` } },
      routes: [{ path: '/*', upstream: 'gone' }],
    })
    const notices: NoticeMessage[] = []
    const onNotice = (m: unknown) => notices.push(m as NoticeMessage)
    noticeChannel.subscribe(onNotice)
    try {
      for (let i = 0; i < 3; i++) expect((await rawGet(dead.port, '/x')).status).toBe(502)
      const failures = notices.filter((n) => n.kind === 'upstream-error')
      // The first failure at once; the next ones are counted into a later notice.
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({ upstream: 'gone', code: 'ECONNREFUSED', status: 502 })
    } finally {
      noticeChannel.unsubscribe(onNotice)
      await dead.close()
    }
  })
})

describe('edge: a body that cannot be read', () => {
  it('is told apart from one over the cap', async () => {
    const decisions = captureDecisions()
    try {
      // Malformed chunk size on a route whose body the policy reads.
      await rawRequest(
        gw.port,
        `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
      )
      await new Promise((r) => setTimeout(r, 100))
      const rules = decisions.messages.map((m) => m.decision.decisive?.rule)
      expect(rules).toContain('request.body-unreadable')
      expect(rules).not.toContain('request.body-too-large')
    } finally {
      decisions.stop()
    }
  })
})

describe("edge: the gateway's own answers", () => {
  it('have the head of a forwarded answer: lower-case date, then the request id', async () => {
    const names = (raw: string) =>
      raw
        .slice(0, raw.indexOf('\r\n\r\n'))
        .split('\r\n')
        .slice(1)
        .map((l) => l.slice(0, l.indexOf(':')))
    const own = names((await rawGet(gw.port, '/x', ['X-Original-URL: /admin'])).raw)
    const forwarded = names((await rawGet(gw.port, '/x')).raw)
    for (const head of [own, forwarded]) {
      expect(head).toContain('date')
      expect(head).not.toContain('Date')
      expect(head.indexOf('date')).toBeLessThan(head.indexOf('x-request-id'))
    }
  })
})

describe('edge: CONNECT', () => {
  it('is refused with 405 and an event, not closed in silence', async () => {
    const notices: NoticeMessage[] = []
    const onNotice = (m: unknown) => notices.push(m as NoticeMessage)
    noticeChannel.subscribe(onNotice)
    try {
      const res = await rawRequest(
        gw.port,
        `CONNECT 127.0.0.1:${gw.port} HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\n\r\n`,
      )
      expect(res.status).toBe(405)
      expect(notices.some((n) => n.kind === 'client-error' && n.status === 405)).toBe(true)
    } finally {
      noticeChannel.unsubscribe(onNotice)
    }
  })
})

describe('edge: a compressed body on a route whose body is inspected', () => {
  it('is refused with a reason that says so, not "not valid UTF-8"', async () => {
    const { gzipSync } = await import('node:zlib')
    const body = gzipSync('{"username":"alice","password":"x"}')
    const decisions = captureDecisions()
    try {
      const res = await rawRequest(
        gw.port,
        Buffer.concat([
          Buffer.from(
            `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
          ),
          body,
        ]),
      )
      expect(res.status).toBe(400)
      const reasons = decisions.messages.map((m) => m.decision.decisive?.reason ?? '')
      expect(reasons.some((r) => r.includes('Content-Encoding gzip cannot be inspected'))).toBe(
        true,
      )
    } finally {
      decisions.stop()
    }
  })
})

describe('edge: JSON numbers parsers read differently', () => {
  const post = (json: string) =>
    rawRequest(
      gw.port,
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    )

  it('refuses a number with more digits than a double keeps, in an inspected body', async () => {
    // 10000 to JavaScript, more than 10000 to a backend that keeps exact decimals.
    const before = upstream.received.length
    const res = await post('{"username":"alice","amount":10000.00000000000001}')
    expect(res.status).toBe(400)
    expect(upstream.received.length).toBe(before)
  })

  it("refuses a short number beyond a double's range: Infinity or 0 here, a number elsewhere", async () => {
    // `1e400` parses to Infinity, which passes `minimum: 1` (and is no integer anywhere else).
    const before = upstream.received.length
    for (const n of ['1e400', '-1E400', '1e-400', '2.5e-999'])
      expect((await post(`{"username":"range-${n}","quantity":${n}}`)).status, n).toBe(400)
    expect(upstream.received.length).toBe(before)
    for (const n of ['1e3', '0e5', '0.0e-999', '1.5E-7', '5e-324', '1.7976931348623157e308'])
      expect((await post(`{"username":"range-${n}","quantity":${n}}`)).status, n).toBe(200)
  })

  it('passes long numbers that are exactly what JavaScript prints, and numbers inside strings', async () => {
    for (const json of [
      '{"username":"alice","amount":0.30000000000000004}',
      '{"username":"alice","note":"10000.00000000000001"}',
    ])
      expect((await post(json)).status, json).toBe(200)
  })
})
