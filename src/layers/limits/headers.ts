/**
 * RateLimit and RateLimit-Policy response fields (draft-ietf-httpapi-ratelimit-headers-10,
 * Structured Field lists). The partition key is a hash: an account name is never echoed.
 */
import { createHash } from 'node:crypto'
import type { LimitResult } from '../../store/store.js'

export function partitionKey(key: string): string {
  return createHash('sha256').update(key).digest().subarray(0, 12).toString('base64')
}

export function rateLimitHeaders(
  policy: string,
  limit: number,
  windowMs: number,
  key: string,
  r: LimitResult,
): Record<string, string> {
  const pk = partitionKey(key)
  const reset = Math.ceil((r.allowed ? r.resetMs : r.retryAfterMs) / 1000)
  const headers: Record<string, string> = {
    'ratelimit-policy': `"${policy}";q=${limit};w=${Math.ceil(windowMs / 1000)};pk=:${pk}:`,
    ratelimit: `"${policy}";r=${r.remaining};t=${reset};pk=:${pk}:`,
  }
  if (!r.allowed) headers['retry-after'] = String(Math.max(1, Math.ceil(r.retryAfterMs / 1000)))
  return headers
}
