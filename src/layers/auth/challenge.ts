/**
 * `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9470 §3). Every auth refusal the
 * client can act on carries one, so a well-behaved client knows whether to refresh its token,
 * ask for more scope, or send the user back to the authorization server to step up.
 */

/** RFC 6750 §3.1 and RFC 9470 §3 error codes. */
export type BearerError =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication'

/** The parameters of one challenge; all optional. */
export interface ChallengeParams {
  readonly realm?: string
  /** Left out when the request carried no credentials at all (RFC 6750 §3.1). */
  readonly error?: BearerError
  readonly errorDescription?: string
  /** Space-delimited scopes the resource needs. */
  readonly scope?: string
  /** RFC 9470: space-delimited acceptable `acr` values. */
  readonly acrValues?: string
  /** RFC 9470: the largest acceptable authentication age, in seconds. */
  readonly maxAge?: number
}

/**
 * The header value; parameters in the order the RFCs show them.
 * @example
 * bearerChallenge({ error: 'insufficient_scope', scope: 'admin_access' })
 * // 'Bearer error="insufficient_scope", scope="admin_access"'
 */
export function bearerChallenge(p: ChallengeParams): string {
  const parts: string[] = []
  if (p.realm !== undefined) parts.push(`realm=${quote(p.realm)}`)
  if (p.error !== undefined) parts.push(`error=${quote(p.error)}`)
  if (p.errorDescription !== undefined) parts.push(`error_description=${quote(p.errorDescription)}`)
  if (p.scope !== undefined) parts.push(`scope=${quote(p.scope)}`)
  if (p.acrValues !== undefined) parts.push(`acr_values=${quote(p.acrValues)}`)
  if (p.maxAge !== undefined) parts.push(`max_age=${quote(String(p.maxAge))}`)
  return parts.length ? `Bearer ${parts.join(', ')}` : 'Bearer'
}

/** An RFC 9110 quoted-string; the values come from config and fixed text, never from the request. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`
}
