/**
 * Where an embedded engine's config comes from: a file (exactly as `bulwark serve` reads it) or
 * an object built in code. Both go through the same strict schema, so a config behaves the same
 * in the proxy and in a middleware, and both fail with the same {@link ConfigError}.
 *
 * Owns: turning a {@link ConfigSource} into a validated, frozen Config. Calls config/load.ts.
 * Called by embedded/bulwark.ts (create and reload).
 * @see ../../docs/embedded.md#configuration
 */
import { loadGatewayConfig } from '../config/gateway-config.js'
import { parseConfig } from '../config/load.js'
import { ConfigSpec, type Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'

/**
 * A config object as written in code: the same keys as `bulwark.yaml`, durations and sizes as
 * numbers or strings (`'60s'`, `'64kb'`), defaults filled in by the schema.
 */
export type ConfigInput = Readonly<Record<string, unknown>>

/** `{ configFile }` reads YAML or JSON (with `${ENV}` references); `{ config }` takes an object. */
export type ConfigSource =
  | { readonly configFile: string; readonly config?: never }
  | { readonly config: ConfigInput | Config; readonly configFile?: never }

/** What a config object's problems are attributed to in error messages. */
const OBJECT_LABEL = 'config'

/**
 * Validates the source into a frozen Config.
 * @throws {ConfigError} `ERR_CONFIG_UNREADABLE` / `ERR_CONFIG_PARSE` / `ERR_CONFIG_ENV` for a
 * file, `ERR_CONFIG_INVALID` for either; a message reads `config limits.rules[0].limit: …`
 * for an object.
 * @throws {TypeError} when neither `config` nor `configFile` is given.
 * @example
 * await resolveConfig({ config: { limits: { rules: [] } } })
 */
export async function resolveConfig(source: ConfigSource): Promise<Config> {
  if (typeof source?.configFile === 'string') return loadGatewayConfig(source.configFile)
  if (source?.config !== null && typeof source?.config === 'object')
    return configFromObject(source.config)
  throw new TypeError('createBulwark: pass { config: {...} } or { configFile: "bulwark.yaml" }')
}

/**
 * Validates a config object with the file loader's messages. The object is written out as JSON
 * (JSON is YAML) with every `${` escaped, so values are taken literally, never interpolated;
 * line numbers of that text would mean nothing to the caller and are dropped.
 */
export function configFromObject(obj: ConfigInput | Config): Config {
  const text = JSON.stringify(
    obj,
    (_key, v: unknown) => (typeof v === 'string' ? v.replaceAll('${', () => '$${') : v),
    2,
  )
  try {
    return parseConfig(text, OBJECT_LABEL, ConfigSpec, {})
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const issues = err.issues.map(({ line: _line, ...rest }) => rest)
    const code = err.code as ConstructorParameters<typeof ConfigError>[0]
    throw new ConfigError(code, issues, { cause: err.cause })
  }
}
