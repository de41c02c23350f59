/**
 * One app under test for the embedded bench, run as its own process:
 * `node dist/bench/lib/embedded-app.js --framework express|express4|fastify|node-http|hono
 *  --variant alone|bulwark|plugin --port N [--config file]`.
 *
 * Every variant serves the same two routes with the same answers; only what sits in front
 * differs: nothing, Bulwark's adapter (with `--config`), or the framework's popular rate-limit
 * plugin (express-rate-limit, @fastify/rate-limit: one counter per IP).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import { serve } from '@hono/node-server'
import fastifyRateLimit from '@fastify/rate-limit'
import express5 from 'express'
import express4 from 'express4'
import { rateLimit } from 'express-rate-limit'
import Fastify from 'fastify'
import { Hono } from 'hono'
import {
  bulwarkExpress,
  bulwarkFastify,
  bulwarkHono,
  createBulwark,
  withBulwark,
  type Bulwark,
} from '../../src/index.js'

import {
  FRAMEWORKS,
  PLUGIN_LIMIT,
  VARIANTS,
  type Framework,
  type Variant,
} from './embedded-targets.js'

const PRODUCT = JSON.stringify({ id: 1, name: 'Red Mug', price: 499 })
const DENIED = JSON.stringify({ error: 'invalid credentials' })

type AnyExpress = (() => any) & { json: (o?: object) => any }

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      framework: { type: 'string' },
      variant: { type: 'string' },
      port: { type: 'string' },
      config: { type: 'string' },
    },
  })
  const framework = values.framework as Framework
  const variant = values.variant as Variant
  if (!FRAMEWORKS.includes(framework))
    throw new TypeError(`--framework: one of ${FRAMEWORKS.join(', ')}`)
  if (!VARIANTS.includes(variant)) throw new TypeError(`--variant: one of ${VARIANTS.join(', ')}`)
  const port = Number(values.port)
  const bulwark =
    variant === 'bulwark' ? await createBulwark({ configFile: values.config ?? '' }) : undefined

  if (framework === 'express' || framework === 'express4')
    return expressApp(framework === 'express' ? express5 : express4, variant, bulwark, port)
  if (framework === 'fastify') return fastifyApp(variant, bulwark, port)
  if (framework === 'hono') return honoApp(bulwark, port)
  return nodeApp(bulwark, port)
}

function expressApp(lib: unknown, variant: Variant, bulwark: Bulwark | undefined, port: number) {
  const express = lib as AnyExpress
  const app = express()
  app.set('etag', false)
  if (bulwark) app.use(bulwarkExpress(bulwark))
  if (variant === 'plugin')
    app.use(
      rateLimit({
        windowMs: 60_000,
        limit: PLUGIN_LIMIT,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      }),
    )
  app.use(express.json())
  app.get('/api/products/:id', (_req: unknown, res: any) => res.type('json').send(PRODUCT))
  app.post('/api/login', (_req: unknown, res: any) => res.status(401).type('json').send(DENIED))
  const server = createServer(app).listen(port, '127.0.0.1')
  stopOn(() => server.close())
}

async function fastifyApp(variant: Variant, bulwark: Bulwark | undefined, port: number) {
  const app = Fastify()
  if (bulwark) await app.register(bulwarkFastify, { bulwark })
  if (variant === 'plugin')
    await app.register(fastifyRateLimit, { max: PLUGIN_LIMIT, timeWindow: 60_000 })
  app.get('/api/products/:id', (_req, reply) => reply.type('application/json').send(PRODUCT))
  app.post('/api/login', (_req, reply) => reply.code(401).type('application/json').send(DENIED))
  await app.listen({ port, host: '127.0.0.1' })
  stopOn(() => void app.close())
}

function honoApp(bulwark: Bulwark | undefined, port: number) {
  const app = new Hono()
  if (bulwark) app.use(bulwarkHono(bulwark))
  const json = { 'content-type': 'application/json' }
  app.get('/api/products/:id', (c) => c.body(PRODUCT, 200, json))
  app.post('/api/login', async (c) => (await c.req.json(), c.body(DENIED, 401, json)))
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' })
  stopOn(() => server.close())
}

function nodeApp(bulwark: Bulwark | undefined, port: number) {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'))
        res.writeHead(401, { 'content-type': 'application/json' }).end(DENIED)
      })
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(PRODUCT)
  }
  const server = createServer(bulwark ? withBulwark(bulwark, handler) : handler)
  server.listen(port, '127.0.0.1')
  stopOn(() => server.close())
}

function stopOn(stop: () => void) {
  process.once('SIGTERM', () => {
    stop()
    process.exit(0)
  })
}

await main()
