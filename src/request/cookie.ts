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
  let conflicting = false
  eachValue(header, name, (v) => {
    if (found !== undefined && found !== v) conflicting = true
    found = v
  })
  if (conflicting) return CONFLICTING
  return found === '' ? undefined : found
}

/**
 * Every value of cookie `name` in `header`, in order (empty ones left out). For a cookie that
 * is Bulwark's own and signed, where at most one of several copies can be genuine.
 * @example
 * cookieValues('d=x; a=1; d=y', 'd') // ['x', 'y']
 */
export function cookieValues(header: string, name: string): string[] {
  const out: string[] = []
  eachValue(header, name, (v) => {
    if (v !== '') out.push(v)
  })
  return out
}

function eachValue(header: string, name: string, each: (value: string) => void) {
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end < 0) end = header.length
    const eq = header.indexOf('=', start)
    if (eq > start && eq < end && header.slice(start, eq).trim() === name)
      each(header.slice(eq + 1, end).trim())
    start = end + 1
  }
}

/**
 * `header` without any `name=…` pair, the others as sent; '' when none is left. For Bulwark's
 * own cookie, which the backend has no use for and must not see (a signed device cookie in a
 * backend's request log is a trusted device for whoever reads the log).
 * @example
 * withoutCookie('a=1; bw_device=x; b=2', 'bw_device') // 'a=1; b=2'
 */
export function withoutCookie(header: string, name: string): string {
  let out = ''
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end < 0) end = header.length
    const eq = header.indexOf('=', start)
    const pairName = eq > start && eq < end ? header.slice(start, eq) : header.slice(start, end)
    if (pairName.trim() !== name) {
      const pair = header.slice(start, end).trim()
      if (pair !== '') out = out === '' ? pair : `${out}; ${pair}`
    }
    start = end + 1
  }
  return out
}
