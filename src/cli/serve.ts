import { Command } from 'commander'
import { loadGatewayConfig } from '../config/gateway-config.js'
import { ConfigError } from '../errors.js'
import { runGateway } from './run-gateway.js'

/** `bulwark serve --config FILE`: the reverse proxy, with hot reload and graceful shutdown. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway in front of the configured upstreams')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .option('-p, --port <port>', 'listen port (overrides server.port)', (v) => Number(v))
    .option('-H, --host <host>', 'listen address (overrides server.host)')
    .option('--no-watch', 'do not reload when the config file changes (SIGHUP still reloads)')
    .action(async (opts: { config: string; port?: number; host?: string; watch: boolean }) => {
      let config
      try {
        config = await loadGatewayConfig(opts.config)
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(`bulwark: ${err.code}\n${err.message}`)
          process.exit(1)
        }
        throw err
      }
      await runGateway(config, {
        configFile: opts.config,
        watch: opts.watch,
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host !== undefined ? { host: opts.host } : {}),
      })
    })
}
