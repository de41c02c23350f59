import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { bulwarkFastify, type FastifyBulwarkOptions } from '../../src/adapters/fastify.js'
import { createBulwark, type Bulwark } from '../../src/index.js'
import { appAnswer, decisions, ECHO_POLICY, eventually, logins, POLICY, send } from './helpers.js'

let apps: FastifyInstance[] = []
let bulwarks: Bulwark[] = []
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()))
  await Promise.all(bulwarks.map((b) => b.close()))
  apps = []
  bulwarks = []
})

async function start(
  config: Record<string, unknown> = POLICY,
  opts: Partial<FastifyBulwarkOptions> = {},
  routes?: (app: FastifyInstance, calls: string[]) => void,
) {
  const bulwark = await createBulwark({ config })
  bulwarks.push(bulwark)
  const app = Fastify()
  apps.push(app)
  const calls: string[] = []
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  )
  app.decorateRequest('user', null)
  app.addHook('onRequest', async (req) => {
    ;(req as unknown as { user: string | undefined }).user = req.headers['x-user'] as
      string | undefined
  })
  if (routes) routes(app, calls)
  else {
    await app.register(bulwarkFastify, {
      bulwark,
      identify: (req) => (req as unknown as { user: string | undefined }).user,
      ...opts,
    })
    app.all('/*', async (req, reply) => {
      calls.push(req.url)
      const a = appAnswer(req.method, req.url, req.body)
      return reply.code(a.status).send({ ...(a.json as object), inspection: req.bulwark?.kind })
    })
  }
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, calls, bulwark }
}

describe('fastify plugin', () => {
  it('answers a breached limit itself, the way the proxy does', async () => {
    const app = await start()
    expect(await logins(app.url, 3, 'victim')).toEqual([401, 401, 429])
    expect(app.calls).toHaveLength(2)
    const r = await send(app.url, '/login', { json: { username: 'Victim' } })
    expect(r.status).toBe(429)
    expect(r.headers['retry-after']).toMatch(/^\d+$/)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.json()).toEqual({
      error: 'Too Many Requests',
      status: 429,
      requestId: r.headers['x-request-id'],
    })
  })

  it('reads the raw payload and hands Fastify’s parser the same bytes', async () => {
    const app = await start(ECHO_POLICY)
    const r = await send(app.url, '/echo', { json: { username: 'alice', list: [1, 2] } })
    expect(r.json()).toMatchObject({
      body: { username: 'alice', list: [1, 2] },
      inspection: 'proceed',
    })
    const chunked = await send(app.url, '/echo', {
      chunks: ['{"username"', ':"bob"}'],
      headers: { 'content-type': 'application/json' },
    })
    expect(chunked.json()).toMatchObject({ body: { username: 'bob' } })
    const dup = await send(app.url, '/login', {
      body: '{"username":"a","username":"victim"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(dup.status).toBe(400)
    const big = await send(app.url, '/login', { json: { username: 'a', pad: 'x'.repeat(2000) } })
    expect(big.status).toBe(413)
    expect(app.calls).toEqual(['/echo', '/echo'])
  })

  it('with hook: preHandler, reads the parsed body (a repeated key is no longer seen)', async () => {
    const app = await start(ECHO_POLICY, { hook: 'preHandler' })
    const dup = await send(app.url, '/echo', {
      body: '{"username":"a","username":"victim"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(dup.json()).toMatchObject({ body: { username: 'victim' } })
    expect(await logins(app.url, 3, 'carol')).toEqual([401, 401, 429])
  })

  it('counts failed logins from the status the route answered', async () => {
    const app = await start()
    const d = decisions()
    try {
      const from = '203.0.113.7'
      for (const u of ['a', 'b'])
        expect((await send(app.url, '/login', { json: { username: u }, from })).status).toBe(401)
      expect((await send(app.url, '/login', { json: { username: 'c' }, from })).status).toBe(429)
      await eventually(() => d.messages.length === 3)
      expect(d.messages.map((m) => [m.outcome.status, m.decision.decisive?.rule])).toEqual([
        [401, undefined],
        [401, undefined],
        [429, 'limits.failed-logins'],
      ])
    } finally {
      d.stop()
    }
  })

  it('takes the account from `identify`, after the app’s onRequest hooks', async () => {
    const app = await start()
    expect((await send(app.url, '/orders', { headers: { 'x-user': 'alice' } })).status).toBe(200)
    expect((await send(app.url, '/orders', { headers: { 'x-user': ' Alice' } })).status).toBe(429)
  })

  it('refuses ambiguous targets and blocks by network, also where no route matches', async () => {
    const app = await start(POLICY, {}, (f, calls) => {
      void f.register(bulwarkFastify, { bulwark: bulwarks[0]! })
      f.get('/admin/users', async () => (calls.push('/admin/users'), { ok: true }))
    })
    expect((await send(app.url, '/nothing-here')).status).toBe(404)
    expect((await send(app.url, '/a%2fb')).status).toBe(400)
    expect((await send(app.url, '/x/%2e%2e/%2e%2e/y')).status).toBe(400)
    expect((await send(app.url, '/admin/users', { from: '203.0.113.1' })).status).toBe(404)
    expect((await send(app.url, '/admin/users', { from: '10.0.0.1' })).status).toBe(200)
    expect(app.calls).toEqual(['/admin/users'])
  })

  it('adds its headers to the route’s reply, replacing the route’s own of the same name', async () => {
    const config = {
      ...POLICY,
      limits: { headers: 'all', rules: [{ id: 'ip', key: ['ip'], limit: 100, window: '60s' }] },
    }
    const app = await start(config, {}, (f, calls) => {
      void f.register(bulwarkFastify, { bulwark: bulwarks[0]! })
      f.get('/h', async (_req, reply) => {
        calls.push('/h')
        return reply.header('ratelimit', 'app').header('x-request-id', 'mine').send('ok')
      })
    })
    const r = await send(app.url, '/h')
    expect(r.headers.ratelimit).toMatch(/^"ip";r=99;t=\d+/)
    expect(r.headers['x-request-id']).toBe('mine')
  })

  it('respects encapsulation: only the context that registers it is protected', async () => {
    const config = { limits: { rules: [{ id: 'ip', key: ['ip'], limit: 1, window: '60s' }] } }
    const d = decisions()
    try {
      const app = await start(config, {}, (f) => {
        void f.register(
          async (api) => {
            await api.register(bulwarkFastify, { bulwark: bulwarks[0]! })
            api.get('/x', async () => ({ api: true }))
            // a child of the protected context is protected too
            await api.register(
              async (child) => void child.get('/child', async () => ({ child: true })),
            )
          },
          { prefix: '/api' },
        )
        f.get('/public', async () => ({ public: true }))
      })
      expect((await send(app.url, '/api/x')).status).toBe(200)
      expect((await send(app.url, '/api/x')).status).toBe(429)
      expect((await send(app.url, '/api/child')).status).toBe(429)
      for (let i = 0; i < 3; i++) expect((await send(app.url, '/public')).status).toBe(200)
      await eventually(() => d.messages.length === 3)
      expect(d.messages.map((m) => m.ctx.path)).toEqual(['/api/x', '/api/x', '/api/child'])
    } finally {
      d.stop()
    }
  })

  it('refuses to register without a Bulwark', async () => {
    const app = Fastify()
    apps.push(app)
    await expect(app.register(bulwarkFastify, {} as FastifyBulwarkOptions)).rejects.toThrow(
      'bulwarkFastify: pass { bulwark } made by createBulwark()',
    )
  })
})
