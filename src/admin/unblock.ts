/**
 * "Unblock": lifts what Bulwark holds against a client. Removes the flags on each of its facet
 * values (`flag:ip:…`, `flag:fingerprint:…`) and asks every layer that keeps counts to forget
 * them (`Layer.forget`: the limits layer resets the keys built from these values and drops them
 * from its blocked memo). Announced with an `unblock` notice, so the log keeps an audit trail.
 *
 * Called by the admin API (api.ts). Calls the store and the layers of the engine in force.
 */
import type { Engine } from '../engine/engine.js'
import type { FacetValues } from '../engine/types.js'
import { flagKey, type FlagFacet } from '../identity/flags.js'
import { notice } from '../telemetry/channels.js'
import type { FlagIndex } from './flags.js'

export interface UnblockResult {
  /** Flags that were set and are now removed. */
  readonly flagsRemoved: readonly string[]
  /** Limit keys reset by the layers. */
  readonly keysReset: number
}

/**
 * @example
 * await unblock(gw.engine, { ip: ['203.0.113.9'] }, index, Date.now())
 */
export async function unblock(
  engine: Engine,
  facets: FacetValues,
  index: FlagIndex,
  now: number,
): Promise<UnblockResult> {
  const keys = Object.entries(facets).flatMap(([f, values]) =>
    (values ?? []).map((v) => flagKey(f as FlagFacet, v)),
  )
  const set = keys.length ? await engine.store.flagged(keys, now) : []
  const flagsRemoved = keys.filter((_, i) => set[i] !== undefined)
  for (const key of keys) {
    await engine.store.unflag(key)
    index.forget(key)
  }
  let keysReset = 0
  for (const layer of engine.layers) if (layer.forget) keysReset += await layer.forget(facets)
  notice({
    kind: 'unblock',
    level: 'info',
    msg: 'client unblocked from the admin listener',
    facets,
    flagsRemoved,
    keysReset,
  })
  return { flagsRemoved, keysReset }
}
