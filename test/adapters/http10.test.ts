/**
 * A chunked body on HTTP/1.0 is refused in every embedded adapter, as the proxy refuses it
 * (RFC 9112 §6.1: a front proxy that frames HTTP/1.0 by connection close reads another body).
 * Red team 9: the adapters did not pass the HTTP version, so the check never ran in-process.
 */
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { bulwarkExpress } from '../../src/adapters/express.js'
import { bulwarkFastify } from '../../src/adapters/fastify.js'
import { bulwarkHono } from '../../src/adapters/hono.js'
import { withBulwark } from '../../src/adapters/node-http.js'
import { createBulwark, type Bulwark } from '../../src/index.js'
import { close, listen, POLICY } from './helpers.js'

let bulwark: Bulwark | undefined
let stop: (() => Promise<unknown>) | undefined
afterEach(async () => {
  await stop?.()
  await bulwark?.close()
  stop = bulwark = undefined
})

/** Sends `head` + `body` raw and resolves the status line's code. */
function raw(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request))
    let got = ''
    s.on('data', (d) => {
      got += d.toString('latin1')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got)
      if (m) {
        resolve(Number(m[1]))
        s.destroy()
      }
    })
    s.on('error', reject)
    s.on('close', () => resolve(0))
  })
}

const chunked10 = (port: number) =>
  `POST /orders HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`
const chunked11 = (port: number) =>
  `POST /orders HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`

type Start = (
  b: Bulwark,
  hit: () => void,
) => Promise<{ port: number; stop: () => Promise<unknown> }>

const node: Start = async (b, hit) => {
  const server: Server = createServer(
    withBulwark(b, (_req, res) => {
      hit()
      res.end('ok')
    }),
  )
  const url = await listen(server)
  return { port: Number(new URL(url).port), stop: () => close(server) }
}
const viaExpress: Start = async (b, hit) => {
  const app = express()
  app.use(bulwarkExpress(b))
  app.post('/orders', (_req, res) => {
    hit()
    res.send('ok')
  })
  const server = createServer(app)
  const url = await listen(server)
  return { port: Number(new URL(url).port), stop: () => close(server) }
}
const viaFastify: Start = async (b, hit) => {
  const app = Fastify()
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_r, body, done) =>
    done(null, body),
  )
  await app.register(bulwarkFastify, { bulwark: b })
  app.post('/orders', async () => {
    hit()
    return 'ok'
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: Number(new URL(url).port), stop: () => app.close() }
}
const viaHono: Start = async (b, hit) => {
  const app = new Hono()
  app.use(bulwarkHono(b))
  app.post('/orders', (c) => {
    hit()
    return c.text('ok')
  })
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    )
  })
  return { port: (server.address() as AddressInfo).port, stop: () => close(server) }
}

describe.each([
  ['node:http', node],
  ['express', viaExpress],
  ['fastify', viaFastify],
  ['hono', viaHono],
] as [string, Start][])('%s adapter', (_name, start) => {
  it('refuses a chunked body on HTTP/1.0 before the app; HTTP/1.1 chunked reaches it', async () => {
    bulwark = await createBulwark({ config: POLICY })
    let hits = 0
    const s = await start(bulwark, () => hits++)
    stop = s.stop
    expect(await raw(s.port, chunked10(s.port))).toBe(400)
    expect(hits).toBe(0)
    expect(await raw(s.port, chunked11(s.port))).toBe(200)
    expect(hits).toBe(1)
  })
})
