/**
 * CLI entry for the demo shop: `node dist/examples/shop/main.js [--port N] [--host H]`.
 * The port defaults to 3000, clear of Bulwark's own 8080; the host to 127.0.0.1.
 * Prints `shop listening on http://HOST:PORT` and stops cleanly on SIGINT or SIGTERM.
 * @see ./README.md
 */
import { parseArgs } from 'node:util'
import { startShop } from './shop.js'

const USAGE = 'usage: node dist/examples/shop/main.js [--port N] [--host H]'

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

let values: { port?: string; host?: string; help?: boolean }
try {
  ;({ values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string', short: 'H' },
      help: { type: 'boolean', short: 'h' },
    },
  }))
} catch (err) {
  fail((err as Error).message)
}

if (values.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const portArg = values.port ?? '3000'
const port = Number(portArg)
if (!/^\d+$/.test(portArg) || port > 65535) {
  fail(`--port: expected an integer 0..65535, got ${values.port}`)
}

const shop = await startShop({ port, host: values.host })
process.stdout.write(`shop listening on ${shop.url}\n`)

function stop(signal: NodeJS.Signals): void {
  process.stdout.write(`shop: ${signal}, closing\n`)
  shop.close().then(
    () => (process.exitCode = 0),
    (err: unknown) => {
      process.stderr.write(`shop: close failed: ${String(err)}\n`)
      process.exitCode = 1
    },
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
