/**
 * The config replay runs: a copy of the user's config in which nothing is enforced — the
 * global `mode` and every rule's own `mode` are `monitor` — and state lives in this process's
 * memory, so a replay never touches a production Redis. Request-safety refusals (ambiguous
 * paths) stay enforced, as they are in the gateway.
 */
import type { Config } from '../config/schema.js'
import { deepFreeze } from '../config/freeze.js'
import { layerTypes } from '../layers/registry.js'

/**
 * @example
 * const engine = createEngine(monitorOnly(config), { clock })
 */
export function monitorOnly(config: Config): Config {
  const copy = structuredClone(config) as Config & Record<string, unknown>
  copy.mode = 'monitor'
  for (const key of Object.keys(layerTypes)) forceMonitor(copy[key])
  copy.store = { type: 'memory', maxKeys: config.store.maxKeys }
  return deepFreeze(copy)
}

/** Sets every `mode: enforce` inside a layer's block (its rules, or nested ones) to monitor. */
function forceMonitor(v: unknown): void {
  if (Array.isArray(v)) for (const item of v) forceMonitor(item)
  else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>
    if (o.mode === 'enforce') o.mode = 'monitor'
    for (const child of Object.values(o)) forceMonitor(child)
  }
}
