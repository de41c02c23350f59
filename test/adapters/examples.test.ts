/**
 * The runnable examples (examples/embedded/*.ts) do what their headers say, with the shipped
 * bulwark.yaml: the 6th bad login for one account is a 429, the app's own users are limited
 * by the account it authenticated, admin routes answer only locally.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { afterEach, describe, expect, it } from 'vitest'
import * as expressExample from '../../examples/embedded/express.js'
import * as fastifyExample from '../../examples/embedded/fastify.js'
import * as honoExample from '../../examples/embedded/hono.js'
import * as nodeExample from '../../examples/embedded/node-http.js'
import { configFile } from '../../examples/embedded/shop-data.js'
import { createBulwark, type Bulwark } from '../../src/index.js'
import { close, listen, send } from './helpers.js'

type Started = { url: string; stop: () => Promise<void> }

const EXAMPLES: [string, (b: Bulwark) => Promise<Started>][] = [
  [
    'express',
    async (b) => {
      const server = createServer(expressExample.createApp(b))
      return { url: await listen(server), stop: () => close(server) }
    },
  ],
  [
    'fastify',
    async (b) => {
      const app = await fastifyExample.createApp(b)
      return { url: await app.listen({ port: 0, host: '127.0.0.1' }), stop: () => app.close() }
    },
  ],
  [
    'node-http',
    async (b) => {
      const server = nodeExample.createApp(b)
      return { url: await listen(server), stop: () => close(server) }
    },
  ],
  [
    'hono',
    async (b) => {
      const server = await new Promise<Server>((resolve) => {
        const s = serve(
          { fetch: honoExample.createApp(b).fetch, port: 0, hostname: '127.0.0.1' },
          () => resolve(s as Server),
        )
      })
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        stop: () => close(server),
      }
    },
  ],
]

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.reverse()) await c()
  cleanup = []
})

describe.each(EXAMPLES)('examples/embedded/%s.ts', (_name, start) => {
  it('limits logins per account and orders per signed-in user; refuses ambiguous paths', async () => {
    const bulwark = await createBulwark({ configFile: configFile() })
    const app = await start(bulwark)
    cleanup.push(() => bulwark.close(), app.stop)
    const bad = { username: 'alice', password: 'wrong' }
    const statuses: number[] = []
    for (let i = 0; i < 6; i++)
      statuses.push((await send(app.url, '/api/login', { json: bad })).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])

    const ok = await send(app.url, '/api/login', { json: { username: 'bob', password: 'bob-pw' } })
    expect(ok.status).toBe(200)
    const auth = { authorization: `Bearer ${(ok.json() as { token: string }).token}` }
    const orders: number[] = []
    for (let i = 0; i < 4; i++)
      orders.push((await send(app.url, '/api/orders', { method: 'POST', headers: auth })).status)
    expect(orders).toEqual([201, 201, 201, 429])
    // not signed in: no account, so the per-account rule does not apply; the app says 401
    expect((await send(app.url, '/api/orders', { method: 'POST' })).status).toBe(401)

    expect((await send(app.url, '/api/products/7')).json()).toMatchObject({ id: 7 })
    expect((await send(app.url, '/api/admin/whoami')).json()).toEqual({ ip: '127.0.0.1' })
    expect((await send(app.url, '/api/products%2f7')).status).toBe(400)
  })
})
