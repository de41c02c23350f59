/**
 * Reading one cookie from a `Cookie` header, the one way every part of Bulwark does it (the
 * `session` and `cookie:NAME` facets, the device cookie).
 */

/** What {@link cookieValue} returns for a cookie sent twice with different values. */
export const CONFLICTING = Symbol('cookie sent twice with different values')

/**
 * The value of cookie `name` in `header`: undefined when absent or empty, {@link CONFLICTING}
 * when sent twice with different values (which one the backend reads is anyone's guess).
 * @example
 * cookieValue('a=1; sid=x', 'sid') // 'x'
 */
export function cookieValue(header: string, name: string): string | undefined | typeof CONFLICTING {
  let found: string | undefined
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end < 0) end = header.length
    const eq = header.indexOf('=', start)
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) {
      const v = header.slice(eq + 1, end).trim()
      if (found !== undefined && found !== v) return CONFLICTING
      found = v
    }
    start = end + 1
  }
  return found === '' ? undefined : found
}
