/**
 * Allowed origins compiled into one matcher: exact origins in a Set, patterns as anchored
 * regular expressions built once. An origin is only ever answered back when it is listed or
 * matches a pattern: an arbitrary `Origin` is never reflected.
 * @see ../../../docs/contract.md#cors
 */

/** `https://shop.example`, `https://*.shop.example`, `http://localhost:*`, or `*`. */
const ORIGIN =
  /^(https?):\/\/((?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?$/

/** Why an origin pattern is malformed, or undefined. Used by the config schema. */
export function originProblem(origin: string): string | undefined {
  if (origin === '*') return undefined
  if (origin === 'null')
    return 'the "null" origin (sandboxed pages, file: URLs, redirects) can be sent by any page; it is never allowed'
  if (origin !== origin.toLowerCase()) return 'origins are lower case'
  if (origin.endsWith('/')) return 'an origin has no path, not even "/"'
  if (!ORIGIN.test(origin))
    return 'expected scheme://host[:port], with "*." only as the first label'
  return undefined
}

export interface OriginMatcher {
  /** True when `origin` (as the browser sent it) may read answers. */
  allows(origin: string): boolean
  /** True when the policy is `*`: answers carry a literal `*`, not the origin. */
  readonly any: boolean
}

/**
 * @example
 * const m = originMatcher(['https://shop.example', 'https://*.shop.example'])
 * m.allows('https://eu.shop.example') // true
 * m.allows('https://shop.example.evil.test') // false
 */
export function originMatcher(origins: readonly string[]): OriginMatcher {
  const any = origins.includes('*')
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  for (const o of origins) {
    if (o === '*') continue
    if (!o.includes('*')) {
      exact.add(defaultPortless(o))
      continue
    }
    const m = ORIGIN.exec(o)!
    const [, scheme, host, port] = m
    // `*.` is exactly one DNS label: `https://*.shop.example` allows `https://eu.shop.example`,
    // not `https://a.b.shop.example`, and never `https://shop.example.evil.test`.
    const wildcard = host!.startsWith('*.')
    const rest = (wildcard ? host!.slice(2) : host!).replace(/[.[\]]/g, '\\$&')
    const portRe = port === '*' ? '(?::\\d{1,5})?' : port ? `:${port}` : ''
    patterns.push(new RegExp(`^${scheme}://${wildcard ? '[a-z0-9-]+\\.' : ''}${rest}${portRe}$`))
  }
  return {
    any,
    allows(origin) {
      if (any) return true
      const o = origin.toLowerCase()
      if (exact.has(defaultPortless(o))) return true
      for (const re of patterns) if (re.test(o)) return true
      return false
    },
  }
}

/** `https://a:443` and `https://a` are one origin (browsers send the second). */
function defaultPortless(o: string): string {
  if (o.startsWith('https://') && o.endsWith(':443')) return o.slice(0, -4)
  if (o.startsWith('http://') && o.endsWith(':80')) return o.slice(0, -3)
  return o
}
