/**
 * Express 5 with Bulwark in-process (Express 4 is wired the same way).
 *
 *   npm run build && node dist/examples/embedded/express.js [--port 3000]
 *   for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' localhost:3000/api/login \
 *     -H 'content-type: application/json' -d '{"username":"alice","password":"wrong"}'; done
 *   # → 401 401 401 401 401 429
 *
 * @see ../../docs/embedded.md#express
 */
import type { Server } from 'node:http'
import express, { type Request, type Response } from 'express'
import { bulwarkExpress, createBulwark, type Bulwark } from '../../src/index.js'
import * as shop from './shop-data.js'

/** The app, Bulwark first. Exported for the tests. */
export function createApp(bulwark: Bulwark): express.Express {
  const app = express()
  // First, so a bot's request is answered before any other work; before express.json(), so the
  // layers read the raw body (and put it back for the parser). `identify` names the user the
  // app authenticated: limits keyed on `account` (orders-per-account) count on it.
  app.use(
    bulwarkExpress<Request>(bulwark, { identify: (req) => shop.userOf(req.headers.authorization) }),
  )
  app.use(express.json())

  const send = (res: Response, r: shop.Reply) => res.status(r.status).json(r.json)
  app.post('/api/login', (req, res) => send(res, shop.login(req.body)))
  app.get('/api/products/:id', (req, res) => send(res, shop.product(req.params.id)))
  app.post('/api/orders', (req, res) =>
    send(res, shop.order(shop.userOf(req.headers.authorization))),
  )
  // What Bulwark decided is on res.locals.bulwark (here: only locals reach this, see the config).
  app.get('/api/admin/whoami', (_req, res) =>
    res.json({ ip: res.locals.bulwark.context.identity.ip }),
  )
  return app
}

if (shop.isMain(import.meta.url)) {
  const bulwark = await createBulwark({ configFile: shop.configFile() })
  shop.logDecisions()
  const server: Server = createApp(bulwark).listen(shop.portArg(), '127.0.0.1', () => {
    process.stdout.write(
      `express + bulwark listening on http://127.0.0.1:${(server.address() as { port: number }).port}\n`,
    )
  })
  shop.onShutdown(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await bulwark.close()
  })
}
