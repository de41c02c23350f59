/**
 * Everything a scenario runs through: the proxy in front of the shop, and one tiny app per
 * framework that has Bulwark's middleware and answers by asking the shop (so every target
 * answers exactly like it). Each app reads the body its framework's usual way.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express5 from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { Hono } from 'hono'
import type { Shop } from '../../../examples/shop/shop.js'
import { bulwarkExpress, keepRawBody } from '../../../src/adapters/express.js'
import { bulwarkFastify } from '../../../src/adapters/fastify.js'
import { bulwarkHono } from '../../../src/adapters/hono.js'
import { withBulwark } from '../../../src/adapters/node-http.js'
import type { Config } from '../../../src/config/schema.js'
import { createBulwark, type Bulwark } from '../../../src/embedded/bulwark.js'
import { startGateway } from '../../../src/proxy/gateway.js'
import type { Capability } from './traffic.js'

export interface Running {
  readonly url: string
  close(): Promise<void>
}

export interface Target {
  readonly name: string
  /** How Bulwark sits in this target, for the test names. */
  readonly how: string
  readonly can: ReadonlySet<Capability>
  start(config: Config, shop: Shop): Promise<Running>
}

interface ShopReply {
  readonly status: number
  readonly headers: Record<string, string | string[]>
  readonly body: string
}

/** Asks the shop what the app would answer. */
async function askShop(
  shop: Shop,
  method: string,
  target: string,
  headers: IncomingHttpHeaders | Record<string, string | undefined>,
  body: string | Buffer | undefined,
): Promise<ShopReply> {
  const pass: Record<string, string> = {}
  for (const h of ['content-type', 'authorization', 'cookie', 'user-agent']) {
    const v = headers[h]
    if (typeof v === 'string') pass[h] = v
  }
  const res = await fetch(shop.url + target, {
    method,
    headers: pass,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    redirect: 'manual',
  })
  const out: Record<string, string | string[]> = {
    'content-type': res.headers.get('content-type') ?? 'application/json',
  }
  const cookies = res.headers.getSetCookie()
  if (cookies.length) out['set-cookie'] = cookies
  const auth = res.headers.get('www-authenticate')
  if (auth) out['www-authenticate'] = auth
  return { status: res.status, headers: out, body: await res.text() }
}

const json = (parsed: unknown) => (parsed === undefined ? undefined : JSON.stringify(parsed))

async function listening(server: Server, closeExtra?: () => Promise<void>): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await closeExtra?.()
    },
  }
}

/** One Bulwark per run, closed with it. */
async function withEngine(
  config: Config,
  build: (bulwark: Bulwark) => Promise<Running>,
): Promise<Running> {
  const bulwark = await createBulwark({ config })
  const running = await build(bulwark)
  return { url: running.url, close: () => running.close().then(() => bulwark.close()) }
}

type AnyExpress = (() => any) & { json: (o?: object) => any }

function expressTarget(
  name: string,
  express: AnyExpress,
  how: string,
  can: Capability[],
  mount: (app: any, guard: unknown, express: AnyExpress) => void,
): Target {
  return {
    name,
    how,
    can: new Set(can),
    start: (config, shop) =>
      withEngine(config, async (bulwark) => {
        const app = express()
        mount(app, bulwarkExpress(bulwark), express)
        app.use(async (req: any, res: any, next: any) => {
          try {
            const r = await askShop(shop, req.method, req.originalUrl, req.headers, json(req.body))
            res.status(r.status).set(r.headers).send(r.body)
          } catch (err) {
            next(err)
          }
        })
        return listening(createServer(app))
      }),
  }
}

export const TARGETS: readonly Target[] = [
  {
    name: 'proxy',
    how: 'bulwark serve in front of the shop',
    can: new Set(['raw-body']),
    async start(config) {
      const gw = await startGateway(config, { port: 0, host: '127.0.0.1' })
      return { url: gw.url, close: () => gw.close() }
    },
  },
  expressTarget(
    'express5',
    express5 as unknown as AnyExpress,
    'before express.json()',
    ['raw-body'],
    (app, guard, ex) => app.use(guard, ex.json()),
  ),
  expressTarget(
    'express4',
    express4 as unknown as AnyExpress,
    'after express.json({ verify: keepRawBody })',
    ['raw-body'],
    (app, guard, ex) => app.use(ex.json({ verify: keepRawBody }), guard),
  ),
  expressTarget(
    'express5-parsed',
    express5 as unknown as AnyExpress,
    'after express.json()',
    [],
    (app, guard, ex) => app.use(ex.json(), guard),
  ),
  {
    name: 'fastify',
    how: 'plugin, preParsing hook',
    can: new Set(['raw-body']),
    start: (config, shop) => startFastify(config, shop, 'preParsing'),
  },
  {
    name: 'fastify-prehandler',
    how: 'plugin, preHandler hook (parsed body)',
    can: new Set(),
    start: (config, shop) => startFastify(config, shop, 'preHandler'),
  },
  {
    name: 'node-http',
    how: 'withBulwark(handler)',
    can: new Set(['raw-body']),
    start: (config, shop) =>
      withEngine(config, (bulwark) =>
        listening(
          createServer(
            withBulwark(bulwark, async (req: IncomingMessage, res) => {
              const chunks: Buffer[] = []
              for await (const c of req) chunks.push(c as Buffer)
              const body = chunks.length ? Buffer.concat(chunks) : undefined
              const r = await askShop(shop, req.method!, req.url!, req.headers, body)
              res.writeHead(r.status, r.headers).end(r.body)
            }),
          ),
        ),
      ),
  },
  {
    name: 'hono',
    how: 'middleware on @hono/node-server',
    can: new Set(['raw-body']),
    start: (config, shop) =>
      withEngine(config, async (bulwark) => {
        const app = new Hono()
        app.use(bulwarkHono(bulwark))
        app.all('*', async (c) => {
          const body = c.req.method === 'GET' ? undefined : await c.req.text()
          const u = new URL(c.req.url)
          const r = await askShop(
            shop,
            c.req.method,
            u.pathname + u.search,
            c.req.header(),
            body || undefined,
          )
          return c.body(r.body, r.status as 200, r.headers)
        })
        const server = await new Promise<Server>((resolve) => {
          const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
            resolve(s as Server),
          )
        })
        return {
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          close: () =>
            new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            }),
        }
      }),
  },
]

function startFastify(config: Config, shop: Shop, hook: 'preParsing' | 'preHandler') {
  return withEngine(config, async (bulwark) => {
    const app = Fastify()
    await app.register(bulwarkFastify, { bulwark, hook })
    app.all('/*', async (req, reply) => {
      const r = await askShop(shop, req.method, req.url, req.headers, json(req.body))
      return reply.code(r.status).headers(r.headers).send(r.body)
    })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return { url, close: () => app.close() }
  })
}
