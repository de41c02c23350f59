/**
 * What a replay cannot see: logs keep no bodies and few headers, so rules keyed on those facets
 * count less (or nothing) in a replay than they would live. Listed in the replay report so a
 * quiet rule is not mistaken for a harmless one.
 * @see ../../docs/audit-replay.md#what-replay-cannot-see
 */
import type { Config } from '../config/schema.js'
import type { LogFormat } from '../logs/record.js'

const LOGGED_HEADERS = new Set(['user-agent', 'referer'])

/**
 * Warnings for `config` given the log formats replayed (with their record counts).
 * @example blindSpots(config, { nginx: 1000 }) // ['limits.login: keys on account, …']
 */
export function blindSpots(config: Config, formats: Partial<Record<LogFormat, number>>): string[] {
  const nginx = (formats.nginx ?? 0) > 0
  const bulwark = (formats.bulwark ?? 0) > 0
  const out: string[] = []
  const accountFromBody = config.identity.account.some((s) => 'body' in s)
  const accountFromHeader = config.identity.account.some((s) => 'header' in s)
  const accountFromQuery = config.identity.account.some((s) => 'query' in s)
  for (const rule of config.limits?.rules ?? []) {
    const name = `limits.${rule.id}`
    const facets = [...rule.key, ...(rule.distinct ? [rule.distinct] : [])]
    for (const f of new Set(facets)) {
      const why = problem(f)
      if (why) out.push(`${name} uses ${f}: ${why}`)
    }
  }

  // Layers whose inputs the logs lack altogether. Read loosely: each layer owns its block's shape.
  const blocks = config as unknown as Record<string, Record<string, unknown> | undefined>
  if (blocks.auth)
    out.push(
      'auth: tokens (Authorization header, cookies) are not in logs, so every request looks anonymous: its verdicts on protected routes say nothing',
    )
  if (blocks.contract)
    out.push(
      "contract: logs keep no bodies or Content-Type (and Bulwark's log no query string): only its verdicts on undocumented routes and methods are meaningful",
    )
  if (blocks.cors)
    out.push('cors: the Origin header is not in logs, so no request looks cross-origin')
  const d = blocks.deception
  if (d && (nonEmpty(d.fields) || nonEmpty(d.headers)))
    out.push(
      'deception: hidden fields, canary credentials and trap headers need bodies and headers the logs do not keep; honeypot routes still fire',
    )
  if (blocks.behavior && nginx)
    out.push(
      'behavior: flows and risk follow session, account and fingerprint, which nginx lines lack (Bulwark logs carry them)',
    )

  function problem(f: string): string | undefined {
    if (f.startsWith('field:'))
      return 'request bodies are not in logs, so it counts nothing in a replay'
    if (f === 'account') {
      const parts: string[] = []
      if (accountFromBody && nginx)
        parts.push(
          'accounts from request bodies are only in Bulwark logs (client.account), not in nginx lines',
        )
      if (accountFromHeader && nginx)
        parts.push('nginx lines keep no request headers but User-Agent and Referer')
      if (accountFromQuery && bulwark)
        parts.push("Bulwark's log keeps the path without its query string")
      return parts.length ? parts.join('; ') : undefined
    }
    if (f === 'session' || f === 'apiKey')
      return nginx ? `nginx lines carry no ${f} (Bulwark logs do, as client.${f})` : undefined
    if (f === 'fingerprint')
      return nginx
        ? 'nginx lines give only the User-Agent, so fingerprints are coarser than live (Bulwark logs carry the live one)'
        : undefined
    if (f.startsWith('cookie:')) return 'cookies are not in logs, so it counts nothing in a replay'
    if (f.startsWith('header:')) {
      const h = f.slice(7).toLowerCase()
      if (LOGGED_HEADERS.has(h))
        return bulwark ? "Bulwark's log keeps no request headers" : undefined
      return 'this header is not in logs, so it counts nothing in a replay'
    }
    if (f.startsWith('query:'))
      return bulwark ? "Bulwark's log keeps the path without its query string" : undefined
    return undefined
  }
  return out
}

function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0
}
