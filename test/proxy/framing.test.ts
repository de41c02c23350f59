/**
 * Requests two parsers could read differently are refused before anything reaches the upstream.
 * Sent over raw sockets: HTTP clients refuse to write most of them.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noticeChannel, type NoticeMessage } from '../../src/telemetry/channels.js'
import type { Gateway } from '../../src/proxy/gateway.js'
import { rawGet, rawRequest, startGw, startUpstream, type Upstream } from './helpers.js'

let upstream: Upstream
let gw: Gateway

beforeAll(async () => {
  upstream = await startUpstream()
  gw = await startGw({
    server: { maxHeaders: 10 },
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
  })
})

afterAll(async () => {
  await gw.close()
  await upstream.close()
})

/** Sends `lines` as one request and expects `status` with the upstream seeing nothing. */
async function refused(lines: readonly string[], status: number, body = '') {
  const before = upstream.received.length
  const res = await rawRequest(gw.port, `${lines.join('\r\n')}\r\n\r\n${body}`)
  expect(res.status).toBe(status)
  expect(upstream.received.length).toBe(before)
  return res
}

describe('proxy: request framing', () => {
  it('passes a well-formed request (the baseline for the refusals below)', async () => {
    const res = await rawGet(gw.port, '/fine')
    expect(res.status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/fine')
  })

  it('refuses two Host headers with 400', async () => {
    const res = await refused(
      ['GET /a HTTP/1.1', `Host: 127.0.0.1:${gw.port}`, 'Host: evil.example', 'Connection: close'],
      400,
    )
    expect(JSON.parse(res.body)).toMatchObject({ error: 'Bad Request', status: 400 })
  })

  it('refuses Content-Length together with Transfer-Encoding with 400', async () => {
    // Node's parser may refuse it before the gateway sees it: either way 400 and nothing sent on.
    await refused(
      [
        'POST /a HTTP/1.1',
        `Host: 127.0.0.1:${gw.port}`,
        'Content-Length: 5',
        'Transfer-Encoding: chunked',
        'Connection: close',
      ],
      400,
      '0\r\n\r\n',
    )
  })

  it('refuses a Transfer-Encoding other than plain chunked with 400', async () => {
    await refused(
      [
        'POST /a HTTP/1.1',
        `Host: 127.0.0.1:${gw.port}`,
        'Transfer-Encoding: gzip, chunked',
        'Connection: close',
      ],
      400,
      '0\r\n\r\n',
    )
  })

  it('refuses more than server.maxHeaders headers with 431', async () => {
    const extra = Array.from({ length: 10 }, (_, i) => `X-H${i}: ${i}`)
    const res = await refused(
      ['GET /a HTTP/1.1', `Host: 127.0.0.1:${gw.port}`, ...extra, 'Connection: close'],
      431,
    )
    expect(JSON.parse(res.body)).toMatchObject({
      error: 'Request Header Fields Too Large',
      status: 431,
    })
  })

  it('takes exactly server.maxHeaders headers', async () => {
    const extra = Array.from({ length: 8 }, (_, i) => `X-H${i}: ${i}`)
    const res = await rawGet(gw.port, '/ten-headers', extra)
    expect(res.status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/ten-headers')
  })

  it('refuses a target longer than server.maxUrlLength with 414, and takes one at the limit', async () => {
    // The default limit (8 KiB) is below node's head limit (16 KiB): the gateway answers.
    const at = '/' + 'a'.repeat(8 * 1024 - 1)
    expect((await rawGet(gw.port, at)).status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe(at)
    const res = await refused(
      [`GET ${at}b HTTP/1.1`, `Host: 127.0.0.1:${gw.port}`, 'Connection: close'],
      414,
    )
    expect(JSON.parse(res.body)).toMatchObject({ error: 'URI Too Long', status: 414 })
  })

  it('refuses an absolute-form target naming another host with 400', async () => {
    await refused(
      ['GET http://evil.example/a HTTP/1.1', `Host: 127.0.0.1:${gw.port}`, 'Connection: close'],
      400,
    )
  })

  it('accepts an absolute-form target naming its own Host and sends the path', async () => {
    const host = `127.0.0.1:${gw.port}`
    const res = await rawRequest(
      gw.port,
      `GET http://${host}/own?x=1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    )
    expect(res.status).toBe(200)
    expect(upstream.received.at(-1)!.url).toBe('/own?x=1')
  })

  it('refuses a request without a Host header with 400', async () => {
    await refused(['GET /a HTTP/1.1', 'Connection: close'], 400)
  })

  it('answers a malformed chunk in a body with 400, also once the request is under way', async () => {
    // The headers are fine, so the request is already on its way (its body streams to the
    // upstream) when the parser meets a bad chunk size: the client must still learn why.
    const head = ['POST /streamed HTTP/1.1', `Host: 127.0.0.1:${gw.port}`]
    const chunked = [...head, 'Content-Type: text/plain', 'Transfer-Encoding: chunked']
    for (const body of ['ZZ\r\n{}\r\n0\r\n\r\n', '2\r\n{}\r\nZZ\r\n0\r\n\r\n']) {
      const res = await rawRequest(gw.port, `${chunked.join('\r\n')}\r\n\r\n${body}`)
      expect(res.status).toBe(400)
    }
    // And the gateway goes on serving.
    expect((await rawGet(gw.port, '/after')).status).toBe(200)
  })

  it('does not warn about a client that resets its connection, but does about garbage', async () => {
    const notices: NoticeMessage[] = []
    const onNotice = (m: unknown) => notices.push(m as NoticeMessage)
    noticeChannel.subscribe(onNotice)
    try {
      // A keep-alive connection that answered one request, then reset by the client (RST).
      const socket = connect(gw.port, '127.0.0.1')
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      socket.write(`GET /kept HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\n\r\n`)
      await new Promise<void>((resolve) => socket.once('data', () => resolve()))
      socket.resetAndDestroy()
      await new Promise((r) => setTimeout(r, 100))
      expect(notices.filter((n) => n.kind === 'client-error')).toEqual([])
      // The same channel still reports a request no parser can read.
      await rawRequest(gw.port, 'NOT HTTP AT ALL\r\n\r\n')
      await new Promise((r) => setTimeout(r, 50))
      expect(notices.filter((n) => n.kind === 'client-error')).toHaveLength(1)
    } finally {
      noticeChannel.unsubscribe(onNotice)
    }
  })
})
