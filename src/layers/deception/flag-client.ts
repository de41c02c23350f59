/**
 * Flags a client that sprang a trap: every facet it has (or those `flagFacets` keeps), in the key
 * format every layer shares (src/identity/flags.ts), without making the request wait for the
 * store. Each flag is announced in a `flag` notice — the admin's flag list reads them — at most
 * once a minute per key, so a bot hammering a trap refreshes its flags without flooding the log.
 * @see ../../../docs/deception.md#flags
 */
import type { Identity } from '../../engine/types.js'
import {
  FLAG_FACETS,
  flagIdentity,
  identityFlagKeys,
  type FlagFacet,
} from '../../identity/flags.js'
import { notice } from '../../telemetry/channels.js'
import type { Store } from '../../store/store.js'
import { OrderedMap } from '../../store/ordered-map.js'

const MAX_NOTICED = 10_000
const NOTICE_EVERY = 60_000

/** Reports a store failure; deception never fails a request over one. */
export function storeFailed(err: unknown, what: string): void {
  notice({
    kind: 'store-error',
    level: 'error',
    msg: `deception: could not ${what}`,
    rule: 'deception',
    error: String((err as Error)?.message ?? err),
  })
}

/**
 * @example
 * const flag = clientFlagger(store, ['ip', 'fingerprint'])
 * flag(ctx.identity, 'deception.env', 'honeypot GET /.env', 3_600_000, now)
 */
export function clientFlagger(store: Store, facets: readonly FlagFacet[]) {
  const keep = facets.length === FLAG_FACETS.length ? undefined : new Set(facets)
  const noticed = new OrderedMap<string, number>()

  return function flagClient(
    identity: Readonly<Identity>,
    rule: string,
    reason: string,
    ttlMs: number,
    now: number,
  ): void {
    const id = keep ? only(identity, keep) : identity
    try {
      const r = flagIdentity(store, id, rule, reason, ttlMs, now, identity)
      if (r instanceof Promise) r.catch((err) => storeFailed(err, 'flag a client'))
    } catch (err) {
      storeFailed(err, 'flag a client')
    }
    const expiresAt = now + ttlMs
    for (const key of identityFlagKeys(id)) {
      const last = noticed.get(key)
      if (last !== undefined && now - last < NOTICE_EVERY) continue
      if (noticed.size >= MAX_NOTICED) noticed.deleteOldest()
      noticed.delete(key)
      noticed.set(key, now)
      notice({ kind: 'flag', level: 'info', msg: reason, key, rule, reason, expiresAt })
    }
  }
}

/** A copy of `identity` with only the facets in `keep`. */
export function only(identity: Readonly<Identity>, keep: ReadonlySet<FlagFacet>): Identity {
  const out: Identity = {
    ip: keep.has('ip') ? identity.ip : '',
    ipPrefix: keep.has('ipPrefix') ? identity.ipPrefix : '',
    ipSource: identity.ipSource,
    ipHop: identity.ipHop,
  }
  for (const f of ['account', 'session', 'apiKey', 'fingerprint', 'device'] as const)
    if (keep.has(f) && identity[f] !== undefined) out[f] = identity[f]
  return out
}
