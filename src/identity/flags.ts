/**
 * Flags: "this client touched something no person touches". One key format for every layer
 * that sets them (deception: a honeypot or canary hit; contract: an undocumented request) and
 * every reader (risk, the admin's flagged list and unblock): `flag:<facet>:<value>`, whose value
 * is a JSON {@link FlagValue}. Flags always expire.
 * @see ../../README.md#flags
 */
import type { Identity, MaybePromise } from '../engine/types.js'
import { KeyCache } from '../store/key-cache.js'
import type { Store } from '../store/store.js'

/** The identity facets a flag can be about. */
export const FLAG_FACETS = [
  'ip',
  'ipPrefix',
  'account',
  'session',
  'apiKey',
  'fingerprint',
  'device',
] as const
export type FlagFacet = (typeof FLAG_FACETS)[number]

export interface FlagValue {
  /** Rule id that set it: `deception.admin-dashboard`. */
  readonly rule: string
  readonly reason: string
  readonly at: number
  readonly expiresAt: number
  /**
   * The client that set it: its fingerprint and network (`ipPrefix`). A flag on a shared facet
   * (an office's IP, a browser build) is corroborated only by the other half of the same
   * client, never by a flag another client left on the other facet.
   */
  readonly fingerprint?: string
  readonly net?: string
}

/**
 * @example
 * flagKey('ip', '203.0.113.7') // 'flag:ip:203.0.113.7'
 */
export function flagKey(facet: FlagFacet, value: string): string {
  return FLAG_KEYS[facet].one(value)
}

/** Flag keys are looked up on every request (risk, deception): built once per facet value. */
const FLAG_KEYS = Object.fromEntries(
  FLAG_FACETS.map((f) => [f, new KeyCache<string>(([v]) => `flag:${f}:${v}`)]),
) as Record<FlagFacet, KeyCache<string>>

/** `flag:ip:1.2.3.4` → `['ip', '1.2.3.4']`; undefined for keys of another shape. */
export function parseFlagKey(key: string): [FlagFacet, string] | undefined {
  const m = /^flag:([A-Za-z]+):(.+)$/.exec(key)
  if (!m || !(FLAG_FACETS as readonly string[]).includes(m[1]!)) return undefined
  return [m[1] as FlagFacet, m[2]!]
}

/** The flag keys of every facet the identity has (the keys to set, or to look up). */
export function identityFlagKeys(identity: Readonly<Identity>): string[] {
  // Each facet by name, in FLAG_FACETS' order: `identity[f]` over the list is a megamorphic
  // keyed load per facet on every request that asks (deception's chaos, the contract).
  const keys: string[] = []
  const { ip, ipPrefix, account, session, apiKey, fingerprint, device } = identity
  if (ip) keys.push(FLAG_KEYS.ip.one(ip))
  if (ipPrefix) keys.push(FLAG_KEYS.ipPrefix.one(ipPrefix))
  if (account) keys.push(FLAG_KEYS.account.one(account))
  if (session) keys.push(FLAG_KEYS.session.one(session))
  if (apiKey) keys.push(FLAG_KEYS.apiKey.one(apiKey))
  if (fingerprint) keys.push(FLAG_KEYS.fingerprint.one(fingerprint))
  if (device) keys.push(FLAG_KEYS.device.one(device))
  return keys
}

/** Flags every facet of `identity` for `ttlMs`. One store call per key (memory: synchronous). */
export function flagIdentity(
  store: Store,
  identity: Readonly<Identity>,
  rule: string,
  reason: string,
  ttlMs: number,
  now: number,
  /**
   * The whole client (`identity` may hold only the facets to flag): its fingerprint and network
   * go into the flag, so a flag on a shared facet counts in full only for that client.
   * Required: a filtered `identity` alone would leave them out (red team 9 recheck: the
   * contract's flags said no network, and counted in full on every network).
   */
  client: Readonly<Identity>,
): MaybePromise<void> {
  const value = JSON.stringify({
    rule,
    reason,
    at: now,
    expiresAt: now + ttlMs,
    ...(client.fingerprint ? { fingerprint: client.fingerprint } : {}),
    ...(client.ipPrefix ? { net: client.ipPrefix } : {}),
  } satisfies FlagValue)
  const pending: Promise<void>[] = []
  for (const key of identityFlagKeys(identity)) {
    const r = store.flag(key, value, ttlMs, now)
    if (r instanceof Promise) pending.push(r)
  }
  if (pending.length) return Promise.all(pending).then(() => undefined)
}

/**
 * Whether a flag on a shared facet was set by this client — a fingerprint's by a client on the
 * same network, an IP's by one with the same fingerprint (the other half of the client that
 * set it, against this client's); undefined when the flag does not say who set it.
 */
export function setByClient(
  raw: string,
  facet: string,
  id: Readonly<Identity>,
): boolean | undefined {
  const f = parseFlagValue(raw) as Partial<FlagValue>
  const theirs = facet === 'fingerprint' ? f.net : f.fingerprint
  if (theirs === undefined) return undefined
  return theirs === (facet === 'fingerprint' ? id.ipPrefix : id.fingerprint)
}

/** Reads a flag value written by {@link flagIdentity} (or a plain reason string). */
export function parseFlagValue(raw: string): FlagValue | { reason: string } {
  try {
    const v = JSON.parse(raw) as FlagValue
    if (v && typeof v === 'object' && typeof v.reason === 'string') return v
  } catch {
    /* a plain reason */
  }
  return { reason: raw }
}
