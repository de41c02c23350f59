/**
 * Folds concrete paths into route templates by recognising id-like segments, so
 * `/api/orders/8431/items/5f0c…` and `/api/orders/12/items/9e1d…` are one endpoint,
 * `/api/orders/:id/items/:id2`. Used by the audit when no OpenAPI template matches.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HEX = /^[0-9a-f]{8,}$/i
const BASE64ISH = /^[A-Za-z0-9_~+=.-]{16,}$/
const MAYBE_ID = /[0-9@:*]/

/**
 * True for a segment that names one thing rather than a kind of thing: a number, a UUID, a hex
 * string of 8+ characters with a digit (object ids, hashes), a token-like run of 16+ base64url
 * characters with at least two digits and a letter (`cus_NffrFeUfNV2Hib`, JWT-ish ids, slugs
 * with dates), or an email address.
 * @example isIdSegment('8431') // true;  isIdSegment('products') // false
 */
export function isIdSegment(seg: string): boolean {
  if (seg.length === 0) return false
  let digits = 0
  let letters = 0
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters++
  }
  if (digits === seg.length) return true
  if (digits === 0) return seg.includes('@')
  if (seg.length === 36 && UUID.test(seg)) return true
  if (HEX.test(seg)) return true
  if (digits >= 2 && letters >= 1 && BASE64ISH.test(seg)) return true
  return seg.includes('@')
}

/**
 * The template of a canonical path key: id-like segments become `:id`, `:id2`, `:id3`…
 * (distinct names keep the result a valid route pattern). A literal segment that a route
 * pattern would misread (`:x`, `*`) is folded too.
 * @example foldPath('/api/orders/8431/items/12') // '/api/orders/:id/items/:id2'
 */
export function foldPath(key: string): string {
  if (key === '/' || key === '') return '/'
  // Every id-like segment has a digit or an `@`; most paths can be returned without a split.
  if (!MAYBE_ID.test(key)) return key
  const segs = key.split('/')
  let n = 0
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!
    // A literal `:x` or `*` would read as a parameter or wildcard in a route pattern.
    if (isIdSegment(s) || s.charCodeAt(0) === 58 || s.includes('*')) {
      n++
      segs[i] = n === 1 ? ':id' : `:id${n}`
    }
  }
  return n === 0 ? key : segs.join('/')
}
