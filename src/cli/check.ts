import { Command } from 'commander'
import { loadGatewayConfig } from '../config/gateway-config.js'
import { ConfigError } from '../errors.js'
import { layerTypes } from '../layers/registry.js'
import { createEngine } from '../engine/engine.js'
import { MemoryStore } from '../store/memory.js'

/** `bulwark check --config FILE`: validates a config and exits 0, or prints every problem and exits 1. */
export function checkCommand(): Command {
  return new Command('check')
    .description('validate a config file without starting anything')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .action(async (opts: { config: string }) => {
      try {
        const config = await loadGatewayConfig(opts.config)
        // Compile it too: layers check what a schema cannot (an OpenAPI document, its $refs).
        const engine = createEngine(config, {
          store: new MemoryStore(),
          configFile: opts.config,
        })
        await engine.close()
        for (const w of engine.warnings) console.log(`warning: ${opts.config}: ${w}`)
        const rules = Object.keys(layerTypes).filter(
          (k) => (config as Record<string, unknown>)[k] !== undefined,
        )
        console.log(
          `${opts.config}: ok (${config.routes.length} routes, ${Object.keys(config.upstreams).length} upstreams, layers: ${rules.join(', ') || 'none'}; mode ${config.mode})`,
        )
      } catch (err) {
        reportConfigError(err)
      }
    })
}

/** Prints a config error (code, then every problem) and sets exit code 1; rethrows anything else. */
export function reportConfigError(err: unknown): void {
  if (!(err instanceof ConfigError)) throw err
  console.error(`${err.code}\n${err.message}`)
  process.exitCode = 1
}
