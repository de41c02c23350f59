import { Command } from 'commander'
import { listenError } from '../errors.js'
import { fileURLToPath } from 'node:url'
import { startShop } from '../../examples/shop/shop.js'
import { loadGatewayConfig } from '../config/gateway-config.js'
import { runGateway } from './run-gateway.js'

const DEMO_CONFIG = fileURLToPath(new URL('../../../examples/shop/bulwark.yaml', import.meta.url))

/** `bulwark demo`: the bundled shop API with Bulwark in front of it, on embedded defaults. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('run the demo: the bundled shop API behind Bulwark (no external service needed)')
    .option('-p, --port <port>', 'gateway port', (v) => Number(v), 8080)
    .option('--shop-port <port>', 'shop API port', (v) => Number(v), 3001)
    .action(async (opts: { port: number; shopPort: number }) => {
      const shop = await startShop({ port: opts.shopPort }).catch((err: NodeJS.ErrnoException) => {
        throw err.syscall === 'listen'
          ? listenError('demo shop API', '127.0.0.1', opts.shopPort, err, '--shop-port')
          : err
      })
      process.env.SHOP_URL = shop.url
      const config = await loadGatewayConfig(DEMO_CONFIG)
      const gw = await runGateway(config, {
        configFile: DEMO_CONFIG,
        port: opts.port,
        onClose: () => shop.close(),
      })
      console.log(
        [
          '',
          `  Bulwark demo`,
          `  gateway   ${gw.url}   (try: curl ${gw.url}/api/products/1)`,
          `  shop API  ${shop.url}   (the upstream, unprotected)`,
          `  config    ${DEMO_CONFIG}`,
          '',
        ].join('\n'),
      )
    })
}
