import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { protect, withBulwark } from '../../src/adapters/node-http.js'
import { createBulwark, type Bulwark, type Inspection } from '../../src/index.js'
import {
  appAnswer,
  close,
  decisions,
  ECHO_POLICY,
  eventually,
  listen,
  logins,
  POLICY,
  send,
} from './helpers.js'

let servers: Server[] = []
let bulwarks: Bulwark[] = []
afterEach(async () => {
  await Promise.all(servers.map(close))
  await Promise.all(bulwarks.map((b) => b.close()))
  servers = []
  bulwarks = []
})

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? (JSON.parse(text) as unknown) : undefined
}

/** The test app on plain node:http: it reads its own body from the stream. */
async function start(config: Record<string, unknown> = POLICY, wrap?: (b: Bulwark) => Bulwark) {
  const bulwark = await createBulwark({ config })
  bulwarks.push(bulwark)
  const calls: string[] = []
  const seen: Inspection[] = []
  const handler = withBulwark(
    wrap ? wrap(bulwark) : bulwark,
    async (req: IncomingMessage, res: ServerResponse, r) => {
      calls.push(req.url!)
      seen.push(r)
      if (req.url === '/boom') throw new Error('boom')
      if (req.url === '/hang') return // never answers
      if (req.url === '/own-headers') {
        res.writeHead(200, {
          'x-request-id': 'mine',
          ratelimit: 'app',
          'content-type': 'text/plain',
        })
        return void res.end('ok')
      }
      const body = req.method === 'POST' ? await readJson(req) : undefined
      const a = appAnswer(req.method!, req.url!, body)
      res.setHeader('content-type', 'application/json')
      res.statusCode = a.status
      res.end(JSON.stringify(a.json))
    },
    { identify: (req) => req.headers['x-user'] as string | undefined },
  )
  const server = createServer(handler)
  servers.push(server)
  return { url: await listen(server), calls, seen, bulwark }
}

describe('node:http: withBulwark', () => {
  it('answers a breached limit itself; the handler never runs for it', async () => {
    const app = await start()
    expect(await logins(app.url, 3, 'victim')).toEqual([401, 401, 429])
    expect(app.calls).toHaveLength(2)
    const r = await send(app.url, '/login', { json: { username: 'Victim' }, from: '198.51.100.9' })
    expect(r.status).toBe(429)
    expect(r.headers['retry-after']).toMatch(/^\d+$/)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.json()).toEqual({
      error: 'Too Many Requests',
      status: 429,
      requestId: r.headers['x-request-id'],
    })
  })

  it('leaves the body readable for the handler after the layers read it', async () => {
    const app = await start(ECHO_POLICY)
    const r = await send(app.url, '/echo', {
      json: { username: 'alice', n: [1, 2] },
      from: '198.51.100.1',
    })
    expect(r.json()).toEqual({ body: { username: 'alice', n: [1, 2] } })
    expect(app.seen.at(-1)!.context.identity.account).toBe('alice')
    // chunked, trickled in pieces
    const c = await send(app.url, '/echo', {
      chunks: ['{"username":', '"bob",', '"x":"y"}'],
      headers: { 'content-type': 'application/json' },
    })
    expect(c.json()).toEqual({ body: { username: 'bob', x: 'y' } })
    expect(app.seen.at(-1)!.context.identity.account).toBe('bob')
    // an empty chunked body
    const e = await send(app.url, '/echo', {
      chunks: [],
      headers: { 'content-type': 'application/json' },
    })
    expect(e.json()).toEqual({})
  })

  it('refuses a body a backend could read differently, and one over the cap', async () => {
    const app = await start()
    const dup = await send(app.url, '/login', {
      body: '{"username":"a","username":"victim"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(dup.status).toBe(400)
    const big = await send(app.url, '/login', { json: { username: 'a', pad: 'x'.repeat(2000) } })
    expect(big.status).toBe(413)
    const bigChunked = await send(app.url, '/login', {
      chunks: ['{"username":"a","pad":"', 'x'.repeat(1500), '"}'],
      headers: { 'content-type': 'application/json' },
    })
    expect(bigChunked.status).toBe(413)
    expect(app.calls).toHaveLength(0)
  })

  it('counts failed logins from the status the handler answered', async () => {
    const app = await start()
    const d = decisions()
    try {
      const from = '203.0.113.7'
      for (const u of ['a', 'b'])
        expect((await send(app.url, '/login', { json: { username: u }, from })).status).toBe(401)
      const r = await send(app.url, '/login', {
        json: { username: 'alice', password: 'alice-pw' },
        from,
      })
      expect(r.status).toBe(429)
      await eventually(() => d.messages.length === 3)
      expect(d.messages.map((m) => m.outcome.status)).toEqual([401, 401, 429])
      expect(d.last()).toEqual({ rule: 'limits.failed-logins', status: 429 })
    } finally {
      d.stop()
    }
  })

  it('takes the account from `identify`', async () => {
    const app = await start()
    expect((await send(app.url, '/orders', { headers: { 'x-user': 'Alice' } })).status).toBe(200)
    expect((await send(app.url, '/orders', { headers: { 'x-user': 'alice' } })).status).toBe(429)
    expect((await send(app.url, '/orders', { headers: { 'x-user': 'bob' } })).status).toBe(200)
  })

  it('refuses ambiguous paths and blocks by network', async () => {
    const app = await start()
    expect((await send(app.url, '/files/a%2fb')).status).toBe(400)
    expect((await send(app.url, '/x/%2e%2e/%2e%2e/etc')).status).toBe(400)
    expect((await send(app.url, '/%61dmin/users', { from: '203.0.113.1' })).status).toBe(404)
    expect((await send(app.url, '/admin/users', { from: '10.0.0.1' })).status).toBe(200)
    expect(app.calls).toEqual(['/admin/users'])
  })

  it('adds its headers to the handler’s response, replacing the handler’s own of the same name', async () => {
    const app = await start({
      ...POLICY,
      limits: { headers: 'all', rules: [{ id: 'ip', key: ['ip'], limit: 100, window: '60s' }] },
    })
    const r = await send(app.url, '/own-headers')
    expect(r.headers.ratelimit).toMatch(/^"ip";r=99;t=\d+/)
    expect(r.headers['ratelimit-policy']).toMatch(/^"ip";q=100;w=60/)
    expect(r.headers['x-request-id']).toBe('mine') // the app's id is kept
    const plain = await send(app.url, '/products/1')
    expect(plain.headers['x-request-id']).toBe(app.seen.at(-1)!.id)
  })

  it('answers 500 when the handler throws, and observes a client that left (status 0)', async () => {
    const app = await start()
    expect((await send(app.url, '/boom')).status).toBe(500)
    const d = decisions()
    try {
      const u = new URL(app.url)
      const { request } = await import('node:http')
      const req = request({ host: u.hostname, port: u.port, path: '/hang', agent: false })
      req.on('error', () => {})
      req.end()
      await eventually(() => app.calls.includes('/hang'))
      req.destroy()
      await eventually(() => d.messages.length === 1)
      expect(d.messages[0]!.outcome.status).toBe(0)
    } finally {
      d.stop()
    }
  })

  it('waits `delayMs` before letting the handler answer', async () => {
    const delayed = (b: Bulwark): Bulwark => ({
      ...b,
      inspect: async (req, who) => ({ ...(await b.inspect(req, who)), delayMs: 60 }),
      observe: (r, s) => b.observe(r, s),
      prepare: (r) => b.prepare(r),
      identify: (p, w) => b.identify(p, w),
      reload: (s) => b.reload(s),
      close: () => b.close(),
      config: b.config,
      engine: b.engine,
    })
    const app = await start(POLICY, delayed)
    const t0 = Date.now()
    expect((await send(app.url, '/products/1')).status).toBe(200)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55)
  })
})

describe('node:http: keep-alive', () => {
  it('serves the next request on the connection when a handler ignored a body the layers read', async () => {
    const bulwark = await createBulwark({ config: ECHO_POLICY })
    bulwarks.push(bulwark)
    const server = createServer(withBulwark(bulwark, (_req, res) => res.end('ignored the body')))
    servers.push(server)
    const url = new URL(await listen(server))
    const { Agent, request } = await import('node:http')
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const post = (username: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const body = JSON.stringify({ username })
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/echo',
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve({ status: res.statusCode!, socket: req.socket }))
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    const a = await post('one')
    const b = await post('two')
    agent.destroy()
    expect([a.status, b.status]).toEqual([200, 200])
    expect(a.socket).toBe(b.socket)
  })
})

describe('node:http: protect', () => {
  it('resolves the inspection for the app to answer, undefined when Bulwark answered', async () => {
    const bulwark = await createBulwark({ config: POLICY })
    bulwarks.push(bulwark)
    const results: (string | undefined)[] = []
    const server = createServer(async (req, res) => {
      const r = await protect(bulwark, req, res)
      results.push(r?.kind)
      if (r) res.end('hello')
    })
    servers.push(server)
    const url = await listen(server)
    expect((await send(url, '/a')).text).toBe('hello')
    expect((await send(url, '/a%2fb')).status).toBe(400)
    expect(results).toEqual(['proceed', undefined])
  })
})
