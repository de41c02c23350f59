/**
 * The tarpit in middleware mode: a deception fake with a delay is held under the same caps as in
 * the proxy (`deception.tarpit`), so a flood of trapped requests cannot pile up timers and
 * answer bodies inside the app's process. Beyond the cap: a plain 429 at once, or a closed
 * connection (`overflow: close`). Proven by counts, not timing: with room for 2 held answers, 6
 * concurrent trapped requests give exactly 2 fakes and 4 overflows.
 * @see ../../src/embedded/bulwark.ts
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import Fastify, { type FastifyInstance } from 'fastify'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { bulwarkFastify } from '../../src/adapters/fastify.js'
import { bulwarkHono, type BulwarkHonoEnv } from '../../src/adapters/hono.js'
import { withBulwark } from '../../src/adapters/node-http.js'
import { createBulwark, type Bulwark } from '../../src/index.js'
import { close, listen, send } from './helpers.js'

const trap = (overflow: '429' | 'close') => ({
  routes: [{ path: '/*' }],
  deception: {
    honeypots: [{ id: 'env', paths: ['/.env'], fake: 'env', delay: '300ms' }],
    tarpit: { maxConcurrent: 2, overflow },
  },
})

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanup.map((c) => c()))
  cleanup = []
})

async function bulwarkFor(overflow: '429' | 'close'): Promise<Bulwark> {
  const b = await createBulwark({ config: trap(overflow) })
  cleanup.push(() => b.close())
  return b
}

async function nodeApp(b: Bulwark): Promise<string> {
  const server = createServer(withBulwark(b, (_req, res) => res.end('app')))
  cleanup.push(() => close(server))
  return listen(server)
}

async function fastifyApp(b: Bulwark): Promise<string> {
  const app: FastifyInstance = Fastify()
  await app.register(bulwarkFastify, { bulwark: b })
  app.all('/*', async () => 'app')
  cleanup.push(() => app.close())
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function honoApp(b: Bulwark): Promise<string> {
  const app = new Hono<BulwarkHonoEnv>()
  app.use(bulwarkHono(b))
  app.all('*', (c) => c.text('app'))
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    )
  })
  cleanup.push(() => close(server))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Six trapped requests at once: their statuses (0 for a closed connection), sorted. */
async function flood(url: string): Promise<number[]> {
  const replies = await Promise.all(
    Array.from({ length: 6 }, () =>
      send(url, '/.env').then(
        (r) => r.status,
        () => 0,
      ),
    ),
  )
  return replies.sort((a, b) => a - b)
}

describe('middleware mode: delayed fakes are held under the tarpit caps', () => {
  for (const [name, start] of [
    ['node:http', nodeApp],
    ['fastify', fastifyApp],
    ['hono', honoApp],
  ] as const) {
    it(`${name}: beyond the cap a plain 429 goes out at once`, async () => {
      const b = await bulwarkFor('429')
      const url = await start(b)
      expect(await flood(url)).toEqual([200, 200, 429, 429, 429, 429])
      expect(b.tarpit.overflowed).toBe(4)
      expect(b.tarpit.peak).toBe(2)
      expect(b.tarpit.active).toBe(0)
      // The slots are free again: the next trapped request is held, not refused.
      expect((await send(url, '/.env')).status).toBe(200)
    })
  }

  for (const [name, start] of [
    ['node:http', nodeApp],
    ['fastify', fastifyApp],
  ] as const) {
    it(`${name}: with overflow: close, the overflowing connections are closed`, async () => {
      const b = await bulwarkFor('close')
      const url = await start(b)
      expect(await flood(url)).toEqual([0, 0, 0, 0, 200, 200])
      expect(b.tarpit.overflowed).toBe(4)
    })
  }
})
