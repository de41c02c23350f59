/**
 * Scopes granted by a token: the space-delimited `scope` string (RFC 8693 §4.2, RFC 9068) and the
 * `scp` claim some issuers use instead (an array, or a string too). Matching is by whole scope,
 * case-sensitive (RFC 6749 §3.3): `not_admin_access` and `admin_access_x` never satisfy
 * `admin_access`.
 */
import type { JWTPayload } from 'jose'

/**
 * Every scope the token grants.
 * @example grantedScopes({ scope: 'shop admin_access' }) // Set { 'shop', 'admin_access' }
 */
export function grantedScopes(claims: JWTPayload): ReadonlySet<string> {
  const out = new Set<string>()
  add(out, claims.scope)
  add(out, claims.scp)
  return out
}

function add(out: Set<string>, v: unknown): void {
  if (typeof v === 'string') {
    // Split on single spaces only: a tab or comma is part of a (then unknown) scope, never a gap.
    for (const s of v.split(' ')) if (s !== '') out.add(s)
  } else if (Array.isArray(v)) {
    for (const s of v) if (typeof s === 'string' && s !== '') out.add(s)
  }
}

/**
 * The required scopes the token lacks, in config order (empty when it has them all).
 * @example missingScopes(['admin_access'], new Set(['not_admin_access'])) // ['admin_access']
 */
export function missingScopes(
  required: readonly string[],
  granted: ReadonlySet<string>,
): readonly string[] {
  if (required.length === 0) return required
  return required.filter((s) => !granted.has(s))
}
