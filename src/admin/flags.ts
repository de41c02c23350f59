/**
 * Flagged identities. A layer flags a client by writing `flag:<facet>:<value>` to the store
 * (`flag:ip:203.0.113.9`, `flag:fingerprint:9f2c…`; the format is src/identity/flags.ts), with a
 * JSON value `{ reason, rule, at, expiresAt }`, and publishes a `flag` notice with the same
 * fields (the deception layer does). The store
 * cannot list its flags, so the admin asks it about two sets of candidates: keys named by flag
 * notices (kept here, bounded) and the facets of recent clients; one `flagged` call checks both.
 *
 * Owns the notice index. Called by feed.ts (noted) and api.ts (list).
 * @see ../../docs/dashboard.md#flags
 */
import { flagKey, parseFlagKey, parseFlagValue } from '../identity/flags.js'
import type { Store } from '../store/store.js'
import type { NoticeMessage } from '../telemetry/channels.js'
import { CLIENT_FACETS, type ClientFacet, type RecentEvent } from '../telemetry/recent.js'
import { OrderedMap } from '../store/ordered-map.js'

export interface FlagInfo {
  readonly key: string
  readonly facet: ClientFacet
  readonly value: string
  readonly reason: string
  readonly rule?: string
  /** When the flag was set (ms), when known. */
  readonly at?: number
  /** When it expires (ms), when known. */
  readonly expiresAt?: number
  /** Recent events of clients with this facet value. */
  readonly events: number
  /** Last time such a client was seen (ms). */
  readonly lastSeen?: number
}

interface Noted {
  readonly reason?: string
  readonly rule?: string
  readonly at: number
  readonly expiresAt?: number
}

const MAX_NOTED = 10_000

/** Flags announced by `flag` notices, newest last, bounded. */
export class FlagIndex {
  readonly #noted = new OrderedMap<string, Noted>()

  /** Records a `flag` notice: `{ key, reason?, rule?, ttlMs? | expiresAt? }`. */
  noted(n: NoticeMessage, now: number): void {
    if (typeof n.key !== 'string' || !parseFlagKey(n.key)) return
    const expiresAt =
      typeof n.expiresAt === 'number'
        ? n.expiresAt
        : typeof n.ttlMs === 'number'
          ? now + n.ttlMs
          : undefined
    this.#noted.delete(n.key)
    if (this.#noted.size >= MAX_NOTED) this.#noted.deleteOldest()
    this.#noted.set(n.key, {
      at: now,
      ...(typeof n.reason === 'string' ? { reason: n.reason } : {}),
      ...(typeof n.rule === 'string' ? { rule: n.rule } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    })
  }

  forget(key: string): void {
    this.#noted.delete(key)
  }

  keys(): string[] {
    return [...this.#noted.keys()]
  }

  get(key: string): Noted | undefined {
    return this.#noted.get(key)
  }
}

/**
 * Flags still set among the noted keys and the facets of `events`, most active clients first.
 * @example
 * const flags = await listFlags(gw.engine.store, index, recent.query({ limit: 2000 }), Date.now())
 */
export async function listFlags(
  store: Store,
  index: FlagIndex,
  events: readonly RecentEvent[],
  now: number,
): Promise<FlagInfo[]> {
  const seen = new Map<string, { events: number; lastSeen: number }>()
  for (const e of events)
    for (const f of CLIENT_FACETS) {
      const v = e.client[f]
      if (v === undefined) continue
      const key = flagKey(f, v)
      const s = seen.get(key)
      if (s) s.events++
      else seen.set(key, { events: 1, lastSeen: e.receivedAt })
    }
  const flags = await flagsFor(
    store,
    index,
    [...new Set([...index.keys(), ...seen.keys()])],
    now,
    seen,
  )
  return flags.sort((a, b) => b.events - a.events || (b.at ?? 0) - (a.at ?? 0))
}

/**
 * The flags among `keys` that are set, with what is known of each (`seen`: how often and when
 * their clients were last seen). One `flagged` call.
 */
export async function flagsFor(
  store: Store,
  index: FlagIndex,
  keys: readonly string[],
  now: number,
  seen?: ReadonlyMap<string, { events: number; lastSeen: number }>,
): Promise<FlagInfo[]> {
  if (keys.length === 0) return []
  const values = await store.flagged(keys, now)
  const out: FlagInfo[] = []
  keys.forEach((key, i) => {
    const value = values[i]
    const parsed = parseFlagKey(key)
    if (value === undefined || !parsed) return
    // The stored value is the truth (the last layer to flag wins); a notice fills in only what
    // a plain-text value lacks, and only when it announced this same value.
    const stored: { reason: string; rule?: string; at?: number; expiresAt?: number } =
      parseFlagValue(value)
    const n = index.get(key)
    const noted = n && !('rule' in stored) && n.reason === stored.reason ? n : undefined
    const s = seen?.get(key)
    const rule = stored.rule ?? noted?.rule
    const at = stored.at ?? noted?.at
    const expiresAt = stored.expiresAt ?? noted?.expiresAt
    out.push({
      key,
      facet: parsed[0],
      value: parsed[1],
      reason: stored.reason,
      ...(rule !== undefined ? { rule } : {}),
      ...(at !== undefined ? { at } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      events: s?.events ?? 0,
      ...(s ? { lastSeen: s.lastSeen } : {}),
    })
  })
  return out
}
