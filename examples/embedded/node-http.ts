/**
 * Plain node:http with Bulwark wrapping the handler.
 *
 *   npm run build && node dist/examples/embedded/node-http.js [--port 3000]
 *   for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' localhost:3000/api/login \
 *     -H 'content-type: application/json' -d '{"username":"alice","password":"wrong"}'; done
 *   # → 401 401 401 401 401 429
 *
 * @see ../../docs/embedded.md#nodehttp
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createBulwark, withBulwark, type Bulwark, type Proceed } from '../../src/index.js'
import * as shop from './shop-data.js'

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  try {
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined
  } catch {
    return undefined
  }
}

/** The handler: it runs only for requests Bulwark lets through, and reads its own body. */
async function handle(req: IncomingMessage, res: ServerResponse, r: Proceed): Promise<void> {
  const path = r.context.path // the canonical path Bulwark judged
  const send = (x: shop.Reply) => {
    res.writeHead(x.status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(x.json))
  }
  const m = /^\/api\/products\/([^/]+)$/.exec(path)
  if (req.method === 'POST' && path === '/api/login') return send(shop.login(await readJson(req)))
  if (req.method === 'GET' && m) return send(shop.product(m[1]!))
  if (req.method === 'POST' && path === '/api/orders')
    return send(shop.order(shop.userOf(req.headers.authorization)))
  if (req.method === 'GET' && path === '/api/admin/whoami')
    return send({ status: 200, json: { ip: r.context.identity.ip } })
  send({ status: 404, json: { error: 'not found' } })
}

/** The server. Exported for the tests. */
export function createApp(bulwark: Bulwark): Server {
  return createServer(
    withBulwark(bulwark, handle, { identify: (req) => shop.userOf(req.headers.authorization) }),
  )
}

if (shop.isMain(import.meta.url)) {
  const bulwark = await createBulwark({ configFile: shop.configFile() })
  shop.logDecisions()
  const server = createApp(bulwark).listen(shop.portArg(), '127.0.0.1', () => {
    process.stdout.write(
      `node:http + bulwark listening on http://127.0.0.1:${(server.address() as { port: number }).port}\n`,
    )
  })
  shop.onShutdown(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await bulwark.close()
  })
}
