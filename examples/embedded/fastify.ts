/**
 * Fastify 5 with Bulwark as a plugin.
 *
 *   npm run build && node dist/examples/embedded/fastify.js [--port 3000]
 *   for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' localhost:3000/api/login \
 *     -H 'content-type: application/json' -d '{"username":"alice","password":"wrong"}'; done
 *   # → 401 401 401 401 401 429
 *
 * @see ../../docs/embedded.md#fastify
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { bulwarkFastify, createBulwark, type Bulwark } from '../../src/index.js'
import * as shop from './shop-data.js'

/** The app. Exported for the tests. */
export async function createApp(bulwark: Bulwark): Promise<FastifyInstance> {
  const app = Fastify()
  // At the root, the plugin's hooks cover every route (registered inside a prefix, only that
  // prefix). It runs in preParsing: after your onRequest hooks, so `identify` sees what your
  // authentication set, and before the body parser, which then reads the same bytes.
  await app.register(bulwarkFastify, {
    bulwark,
    identify: (request) => shop.userOf(request.headers.authorization),
  })

  const send = (reply: FastifyReply, r: shop.Reply) => reply.code(r.status).send(r.json)
  app.post('/api/login', (req, reply) => send(reply, shop.login(req.body)))
  app.get<{ Params: { id: string } }>('/api/products/:id', (req, reply) =>
    send(reply, shop.product(req.params.id)),
  )
  app.post('/api/orders', (req, reply) =>
    send(reply, shop.order(shop.userOf(req.headers.authorization))),
  )
  // What Bulwark decided is on request.bulwark.
  app.get('/api/admin/whoami', async (req) => ({ ip: req.bulwark?.context.identity.ip }))
  return app
}

if (shop.isMain(import.meta.url)) {
  const bulwark = await createBulwark({ configFile: shop.configFile() })
  shop.logDecisions()
  const app = await createApp(bulwark)
  const url = await app.listen({ port: shop.portArg(), host: '127.0.0.1' })
  process.stdout.write(`fastify + bulwark listening on ${url}\n`)
  shop.onShutdown(async () => {
    await app.close()
    await bulwark.close()
  })
}
