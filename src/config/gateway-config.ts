/**
 * Loads and validates a Bulwark config file: the loader (YAML/JSON, ${ENV}, line-accurate
 * errors) applied to the gateway's schema.
 */
import { loadConfig, parseConfig } from './load.js'
import { ConfigSpec, type Config } from './schema.js'

export function loadGatewayConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  return loadConfig(file, ConfigSpec, env)
}

export function parseGatewayConfig(
  text: string,
  file = 'bulwark.yaml',
  env: NodeJS.ProcessEnv = process.env,
): Config {
  return parseConfig(text, file, ConfigSpec, env)
}
