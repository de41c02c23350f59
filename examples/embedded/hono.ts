/**
 * Hono on Node (@hono/node-server) with Bulwark as middleware.
 *
 *   npm run build && node dist/examples/embedded/hono.js [--port 3000]
 *   for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' localhost:3000/api/login \
 *     -H 'content-type: application/json' -d '{"username":"alice","password":"wrong"}'; done
 *   # → 401 401 401 401 401 429
 *
 * @see ../../docs/embedded.md#hono
 */
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { bulwarkHono, createBulwark, type Bulwark, type BulwarkHonoEnv } from '../../src/index.js'
import * as shop from './shop-data.js'

/** The app. Exported for the tests. */
export function createApp(bulwark: Bulwark): Hono<BulwarkHonoEnv> {
  const app = new Hono<BulwarkHonoEnv>()
  // First. A layer that reads the body hands it back to Hono, so c.req.json() works as usual.
  app.use(bulwarkHono(bulwark, { identify: (c) => shop.userOf(c.req.header('authorization')) }))

  const send = (c: Context, r: shop.Reply) => c.json(r.json as object, r.status as 200)
  app.post('/api/login', async (c) =>
    send(c, shop.login(await c.req.json().catch(() => undefined))),
  )
  app.get('/api/products/:id', (c) => send(c, shop.product(c.req.param('id'))))
  app.post('/api/orders', (c) => send(c, shop.order(shop.userOf(c.req.header('authorization')))))
  // What Bulwark decided is c.get('bulwark').
  app.get('/api/admin/whoami', (c) => c.json({ ip: c.get('bulwark').context.identity.ip }))
  return app
}

if (shop.isMain(import.meta.url)) {
  const bulwark = await createBulwark({ configFile: shop.configFile() })
  shop.logDecisions()
  const server = serve(
    { fetch: createApp(bulwark).fetch, port: shop.portArg(), hostname: '127.0.0.1' },
    (info) => process.stdout.write(`hono + bulwark listening on http://127.0.0.1:${info.port}\n`),
  )
  shop.onShutdown(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await bulwark.close()
  })
}
