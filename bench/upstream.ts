/**
 * Bench upstream: a minimal `node:http` server that answers every request with 200 and a small
 * fixed JSON body (~100 bytes). Request bodies (POST etc.) are fully consumed before answering.
 *
 * Run as its own process: `node dist/bench/upstream.js --port N [--host 127.0.0.1]`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFlag, requirePort } from './lib/flags.js'

const BODY = Buffer.from(
  JSON.stringify({
    id: 1,
    name: 'Bench product',
    price: 1999,
    currency: 'EUR',
    stock: 42,
    tags: ['bench', 'fixture', 'upstream'],
  }),
)

const HEADERS = {
  'content-type': 'application/json',
  'content-length': String(BODY.length),
}

function reply(res: ServerResponse): void {
  res.writeHead(200, HEADERS)
  res.end(BODY)
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  if (!hasBody) {
    reply(res)
    return
  }
  // Consume the whole request body before answering, like a real handler would.
  req.on('end', () => reply(res))
  req.on('error', () => res.destroy())
  req.resume()
}

const argv = process.argv.slice(2)
const port = requirePort(argv, 'port')
const host = readFlag(argv, 'host') ?? '127.0.0.1'

const server = createServer(handle)
// Targets sit idle between interleaved rounds: keep upstream keep-alive sockets open longer than
// a whole round so proxies do not race the server closing them.
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000
server.listen(port, host, () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  console.log(JSON.stringify({ msg: 'bench upstream listening', host, port: bound }))
})
