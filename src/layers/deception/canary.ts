/**
 * Canary credentials: fake API keys, passwords and tokens, derived per deployment from a secret
 * (HMAC-SHA256), planted in fake answers through `{{canary:NAME}}` and recognised in any later
 * request. Derived, not stored: every instance and every restart with the same secret plants and
 * recognises the same values. Recognising costs one Set lookup per candidate token.
 * @see ../../../docs/deception.md#canary-credentials
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { RequestContext } from '../../engine/types.js'
import type { BodyFields } from '../../request/body.js'
import type { CanaryCredentialSpec } from './spec.js'

/** `{{canary:NAME}}` or `{{id:NAME}}`, filled once per deployment. */
export const PLACEHOLDER = /\{\{(canary|id):([A-Za-z0-9][A-Za-z0-9_.-]*)\}\}/g

/** The canaries the fakes library plants; `canaries.credentials` may redefine them by name. */
export const BUILTIN_CANARIES: readonly CanaryCredentialSpec[] = [
  { name: 'api-key', prefix: 'sk_live_', length: 24, charset: 'alnum' },
  { name: 'aws-access-key', prefix: 'AKIA', length: 16, charset: 'base32' },
  { name: 'aws-secret-key', prefix: '', length: 40, charset: 'alnum' },
  { name: 'db-password', prefix: '', length: 20, charset: 'alnum' },
  { name: 'admin-password', prefix: '', length: 16, charset: 'alnum' },
  { name: 'admin-session', prefix: '', length: 32, charset: 'hex' },
]

const CHARSETS: Readonly<Record<CanaryCredentialSpec['charset'], string>> = {
  alnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  base32: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567',
}

/** `length` characters of `charset`, derived from HMAC(secret, tag ‖ name). */
function derive(secret: string, tag: string, name: string, length: number, charset: string) {
  let out = ''
  for (let block = 0; out.length < length; block++) {
    const bytes = createHmac('sha256', secret).update(`bulwark:${tag}:${name}:${block}`).digest()
    for (const b of bytes) {
      if (out.length === length) break
      out += charset[b % charset.length]
    }
  }
  return out
}

export interface Canaries {
  /** Canary values by name (built-ins merged with the configured ones). */
  readonly values: ReadonlyMap<string, string>
  /** Fills `{{canary:NAME}}` and `{{id:NAME}}` placeholders. */
  fill(text: string): string
  /** The canary's name when `token` is one. */
  lookup(token: string): string | undefined
  /** Length of the shortest and the longest canary: no other token needs a lookup. */
  readonly minLength: number
  readonly maxLength: number
}

/**
 * Derives every canary from `secret` (a random per-process secret when none is given).
 * @example
 * const c = deriveCanaries('a deployment secret', [])
 * c.values.get('api-key') // 'sk_live_…' (24 more characters), the same on every instance
 */
export function deriveCanaries(
  secret: string | undefined,
  credentials: readonly CanaryCredentialSpec[],
): Canaries {
  const key = secret ?? randomBytes(32).toString('hex')
  const defs = new Map<string, CanaryCredentialSpec>()
  for (const c of [...BUILTIN_CANARIES, ...credentials]) defs.set(c.name, c)
  const values = new Map<string, string>()
  const byValue = new Map<string, string>()
  for (const c of defs.values()) {
    const v = c.prefix + derive(key, 'canary', c.name, c.length, CHARSETS[c.charset])
    values.set(c.name, v)
    byValue.set(v, c.name)
  }
  let min = Infinity
  let max = 0
  for (const v of byValue.keys()) {
    min = Math.min(min, v.length)
    max = Math.max(max, v.length)
  }
  return {
    values,
    fill: (text) =>
      text.replace(PLACEHOLDER, (whole, kind: string, name: string) =>
        kind === 'id' ? derive(key, 'id', name, 32, CHARSETS.alnum) : (values.get(name) ?? whole),
      ),
    lookup: (token) => (token.length < min || token.length > max ? undefined : byValue.get(token)),
    minLength: min,
    maxLength: max,
  }
}

export interface CanaryScanOptions {
  readonly headers: readonly string[]
  readonly query: boolean
}

/**
 * Compiles the per-request search: the listed headers (a Bearer token, both halves of Basic
 * credentials, each cookie value, or the whole value) and query parameter values.
 * @example
 * const scan = canaryScanner(canaries, { headers: ['authorization'], query: true })
 * scan(ctx) // 'api-key' when the request carries that canary
 */
export function canaryScanner(canaries: Canaries, opts: CanaryScanOptions) {
  const { lookup, minLength, maxLength } = canaries

  /**
   * Values of `name=value` pairs split by `sep` (cookies, a query). Only a value at least as
   * long as the shortest canary is cut out and looked up: most requests allocate nothing here.
   */
  function inPairs(text: string, sep: string, decode: boolean): string | undefined {
    let start = 0
    while (start < text.length) {
      let end = text.indexOf(sep, start)
      if (end < 0) end = text.length
      const eq = text.indexOf('=', start)
      if (
        eq >= 0 &&
        eq < end &&
        end - eq - 1 >= minLength &&
        // A query value may be percent-encoded (longer than what it decodes to).
        (decode || mayFit(text, eq + 1, end))
      ) {
        const v = text.slice(eq + 1, end)
        const hit = lookup(unquote((decode ? decodeQueryValue(v) : v).trim()))
        if (hit) return hit
      }
      start = end + 1
    }
    return undefined
  }

  /**
   * Whether `text[from, to)`, trimmed and unquoted as a value is before its lookup, can be as
   * long as a canary: a cookie far longer (a session, a device cookie) is not cut out at all.
   * Only ASCII ends are measured; anything else is left to the lookup.
   */
  function mayFit(text: string, from: number, to: number): boolean {
    while (from < to && asciiSpace(text.charCodeAt(from))) from++
    while (to > from && asciiSpace(text.charCodeAt(to - 1))) to--
    if (to > from && (text.charCodeAt(from) > 127 || text.charCodeAt(to - 1) > 127)) return true
    let n = to - from
    if (n > 1 && text.charCodeAt(from) === 34 && text.charCodeAt(to - 1) === 34) n -= 2
    return n >= minLength && n <= maxLength
  }

  function inValue(header: string, value: string): string | undefined {
    if (value.length < minLength) return undefined
    if (header === 'cookie') return inPairs(value, ';', false)
    const v = value.trim()
    const hit = lookup(v)
    if (hit) return hit
    const sp = v.lastIndexOf(' ')
    if (sp < 0) return undefined
    const cred = v.slice(sp + 1)
    if (v.slice(0, v.indexOf(' ')).toLowerCase() === 'basic' && cred.length <= 1024) {
      // RFC 7617: user-id ":" password, base64. A canary password (or key) in either half.
      const plain = Buffer.from(cred, 'base64').toString('utf8')
      const colon = plain.indexOf(':')
      return colon < 0
        ? lookup(plain)
        : (lookup(plain.slice(0, colon)) ?? lookup(plain.slice(colon + 1)))
    }
    return lookup(cred)
  }

  const headers = opts.headers
  return function scanCanaries(ctx: RequestContext): string | undefined {
    // Indexed: the config's list is frozen, and V8 walks a frozen array with `for…of` through
    // the generic iterator (an allocation per header per request).
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!
      const v = ctx.headers[h]
      if (v === undefined) continue
      if (typeof v === 'string') {
        const hit = inValue(h, v)
        if (hit) return hit
      } else
        for (const one of v) {
          const hit = inValue(h, one)
          if (hit) return hit
        }
    }
    if (opts.query && ctx.query.length > minLength) return inPairs(ctx.query, '&', true)
    return undefined
  }
}

/** The name of the first canary among a parsed body's top-level string fields. */
export function canaryInFields(canaries: Canaries, fields: BodyFields): string | undefined {
  if (!fields.ok) return undefined
  if (fields.kind === 'json') {
    const v = fields.value
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
    for (const x of Object.values(v)) {
      const hit = typeof x === 'string' ? canaries.lookup(x.trim()) : undefined
      if (hit) return hit
    }
    return undefined
  }
  for (const [, x] of fields.entries?.() ?? []) {
    const hit = typeof x === 'string' ? canaries.lookup(x.trim()) : undefined
    if (hit) return hit
  }
  return undefined
}

/** A query value as URLSearchParams reads it (`+` is a space); a bad escape is left as is. */
function decodeQueryValue(v: string): string {
  const plus = v.includes('+') ? v.replaceAll('+', ' ') : v
  if (!plus.includes('%')) return plus
  try {
    return decodeURIComponent(plus)
  } catch {
    return plus
  }
}

/** The characters String.prototype.trim removes, of those below 128: tab to CR, and space. */
function asciiSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

function unquote(s: string): string {
  return s.length > 1 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s
}
