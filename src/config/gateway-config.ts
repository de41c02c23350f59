/**
 * Loads and validates a Bulwark config file: the loader (YAML/JSON, ${ENV}, line-accurate
 * errors) applied to the gateway's schema.
 */
import { dirname, isAbsolute, resolve } from 'node:path'
import { deepFreeze } from './freeze.js'
import { loadConfig, parseConfig } from './load.js'
import { ConfigSpec, type Config } from './schema.js'

export async function loadGatewayConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  return relativeToFile(await loadConfig(file, ConfigSpec, env), file)
}

/**
 * File names inside a config (the contract's OpenAPI documents) are relative to the config
 * file, wherever Bulwark is started from.
 */
function relativeToFile(config: Config, file: string): Config {
  const openapi = config.contract?.openapi
  if (openapi === undefined) return config
  const dir = dirname(resolve(file))
  const fix = (p: string) => (isAbsolute(p) ? p : resolve(dir, p))
  const resolved = Array.isArray(openapi) ? openapi.map(fix) : fix(openapi as string)
  return deepFreeze({ ...config, contract: { ...config.contract!, openapi: resolved } }) as Config
}

export function parseGatewayConfig(
  text: string,
  file = 'bulwark.yaml',
  env: NodeJS.ProcessEnv = process.env,
): Config {
  return parseConfig(text, file, ConfigSpec, env)
}
