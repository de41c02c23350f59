/**
 * The canonical request path: the one reading of `req.url` that the gateway matches routes on
 * and sends upstream, so the gateway and the backend cannot disagree about which route was asked
 * for (`/API//admin/./users`, `/%61dmin`, `/x/..%2fadmin` and friends).
 *
 * Owns: percent-decoding, dot segments, slash runs, case folding and the ambiguity flags.
 * Calls: nothing but the platform. Called by: the listener and adapters while they build the
 * request context; a target that fails, or that carries a flag its route has not opted in to,
 * becomes a `block` verdict with status 400 (rule `request.ambiguous-path`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2
 */

/** How a route compares letters: `lower` also rewrites what is sent upstream. */
export type CasePolicy = 'sensitive' | 'insensitive' | 'lower'

/**
 * Bit flags for forms that two parsers may read differently. A route may opt in to some; the
 * caller rejects the rest with 400.
 *
 * @example
 * ```ts
 * const r = canonicalPath('/files/a%2Fb', 'sensitive')
 * if (r.ok && (r.flags & ~route.allow) !== 0) return badRequest(describeAmbiguity(r.flags))
 * ```
 */
export const Ambiguity = {
  encodedSlash: 1,
  encodedBackslash: 2,
  backslash: 4,
  nul: 8,
  controlChar: 16,
  invalidUtf8: 32,
  nonNfkc: 64,
  semicolon: 128,
  dotAboveRoot: 256,
} as const

/** The name of one {@link Ambiguity} flag. */
export type AmbiguityName = keyof typeof Ambiguity

/** What {@link canonicalPath} made of a request target. */
export type CanonicalPath =
  | {
      readonly ok: true
      /** Sent upstream: dot segments resolved, slash runs collapsed, escapes normalised. */
      readonly path: string
      /** For route matching: `path` case-folded per policy, one trailing slash removed. */
      readonly key: string
      /** Raw, without the `?`; never rewritten. */
      readonly query: string
      /** {@link Ambiguity} bits, 0 when every parser reads the path the same way. */
      readonly flags: number
    }
  | {
      readonly ok: false
      /** Short, for events: `bad percent-encoding`. */
      readonly reason: string
    }

/**
 * Turns an origin-form request target (node's `req.url`) into the canonical path, route key,
 * raw query and ambiguity flags. Never throws: a malformed target is `{ ok: false }`.
 *
 * @example
 * ```ts
 * canonicalPath('/API//v1/./%75sers/?page=2', 'insensitive')
 * // { ok: true, path: '/API/v1/users/', key: '/api/v1/users', query: 'page=2', flags: 0 }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
 */
export function canonicalPath(target: string, casePolicy: CasePolicy): CanonicalPath {
  if (target.charCodeAt(0) !== SLASH) return fail('must start with /')
  const n = target.length
  let i = 1
  let prev = SLASH
  let upper = false
  let fast = true
  for (; i < n; i++) {
    const c = target.charCodeAt(i)
    if (c === QUESTION) break
    if (c >= 128 || FAST[c] === 0) {
      fast = false
      break
    }
    if (c === SLASH && prev === SLASH) {
      fast = false
      break
    }
    if (c === DOT && prev === SLASH && isDotSegment(target, i)) {
      fast = false
      break
    }
    if (c >= 0x41 && c <= 0x5a) upper = true
    prev = c
  }
  if (!fast) {
    i = target.indexOf('?', i)
    if (i === -1) i = n
  }
  const query = i < n ? target.slice(i + 1) : ''
  const bad = checkQuery(query)
  if (bad !== undefined) return fail(bad)
  const raw = i < n ? target.slice(0, i) : target
  if (!fast) return slowPath(raw, query, casePolicy)
  // Fast path: nothing to decode and no segment to resolve; only ASCII, so toLowerCase is exact.
  const path = upper && casePolicy === 'lower' ? raw.toLowerCase() : raw
  let key = path.length > 1 && path.charCodeAt(path.length - 1) === SLASH ? path.slice(0, -1) : path
  if (upper && casePolicy === 'insensitive') key = key.toLowerCase()
  return { ok: true, path, key, query, flags: 0 }
}

/**
 * Names the flags set in `flags`, in bit order, for events and 400 bodies.
 *
 * @example
 * ```ts
 * describeAmbiguity(Ambiguity.encodedSlash | Ambiguity.semicolon) // 'encoded slash, semicolon'
 * ```
 */
export function describeAmbiguity(flags: number): string {
  const names: string[] = []
  for (const [bit, name] of DESCRIPTIONS) if ((flags & bit) !== 0) names.push(name)
  return names.join(', ')
}

const DESCRIPTIONS: readonly (readonly [number, string])[] = [
  [Ambiguity.encodedSlash, 'encoded slash'],
  [Ambiguity.encodedBackslash, 'encoded backslash'],
  [Ambiguity.backslash, 'backslash'],
  [Ambiguity.nul, 'encoded NUL'],
  [Ambiguity.controlChar, 'encoded control character'],
  [Ambiguity.invalidUtf8, 'invalid UTF-8'],
  [Ambiguity.nonNfkc, 'not NFKC-normalised'],
  [Ambiguity.semicolon, 'semicolon'],
  [Ambiguity.dotAboveRoot, 'dot segment above root'],
]

const SLASH = 0x2f
const DOT = 0x2e
const QUESTION = 0x3f
const PERCENT = 0x25
const HEX = '0123456789ABCDEF'

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
const UNRESERVED = charTable('-._~')
/** Unreserved plus the sub-delims, ':' and '@' (pchar, §3.3) but ';', plus '/'. */
const SEGMENT_SAFE = (() => {
  const t = new Uint8Array(128)
  for (const ch of "!$&'()*,=:@") t[ch.charCodeAt(0)] = 1
  return t
})()
const FAST = charTable("-._~/!$&'()*+,=:@")

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function charTable(extra: string): Uint8Array {
  const t = new Uint8Array(128)
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1
  for (const ch of extra) t[ch.charCodeAt(0)] = 1
  return t
}

function fail(reason: string): CanonicalPath {
  return { ok: false, reason }
}

/** True when the `.` at `i` (just after a `/`) starts a `.` or `..` segment. */
function isDotSegment(s: string, i: number): boolean {
  let j = i + 1
  if (s.charCodeAt(j) === DOT) j++
  const c = s.charCodeAt(j)
  return j >= s.length || c === SLASH || c === QUESTION
}

function checkQuery(query: string): string | undefined {
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return 'invalid character'
    // A raw '#' never reaches a server from a conforming client (RFC 9112 §3.2: no fragment in
    // origin-form); parsers disagree on whether it ends the target, so it is refused.
    if (c === 0x23) return 'fragment in target'
  }
  // The query is forwarded untouched and not matched on, so its escapes are not checked: real
  // clients send `?q=100%` and every query parser keeps the stray '%' as a literal.
  return undefined
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** The byte escaped at `s[i] === '%'`, or -1 when two hex digits do not follow. */
function escapedByte(s: string, i: number): number {
  // Past the end charCodeAt gives NaN, which hexValue rejects; a '/' is not hex either.
  const hi = hexValue(s.charCodeAt(i + 1))
  const lo = hexValue(s.charCodeAt(i + 2))
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo
}

/** The flag an escaped ASCII byte that stays encoded raises, 0 for none. */
function escapeFlag(b: number): number {
  if (b === 0x2f) return Ambiguity.encodedSlash
  if (b === 0x5c) return Ambiguity.encodedBackslash
  if (b === 0x00) return Ambiguity.nul
  if (b < 0x20 || b === 0x7f) return Ambiguity.controlChar
  // Servers that decode before stripping path parameters read `%3B` as `;` (Spring Security's
  // StrictHttpFirewall rejects it for that reason), so it is as ambiguous as a raw one.
  if (b === 0x3b) return Ambiguity.semicolon
  return 0
}

/** The general case: decode, flag, resolve segments, fold case. */
function slowPath(raw: string, query: string, casePolicy: CasePolicy): CanonicalPath {
  const stack: string[] = []
  let flags = 0
  let trailing = false
  let start = 1
  for (;;) {
    let end = raw.indexOf('/', start)
    const last = end === -1
    if (last) end = raw.length
    let seg = ''
    let prev = -1
    let i = start
    while (i < end) {
      const c = raw.charCodeAt(i)
      if (c !== PERCENT) {
        if (c < 0x21 || c > 0x7e) return fail('invalid character')
        if (c === 0x23) return fail('fragment in target')
        // '\' is not a URI character at all (RFC 3986 §2), so parsers improvise: IIS and the
        // WHATWG URL parser (special schemes) read it as '/', others keep it as data.
        if (c === 0x5c) flags |= Ambiguity.backslash
        // Tomcat and Spring strip ';' path parameters (RFC 3986 §3.3), so `/admin;x` reaches the
        // `/admin` handler while a gateway would see another route.
        else if (c === 0x3b) flags |= Ambiguity.semicolon
        seg += raw[i]
        prev = c
        i++
        continue
      }
      const b = escapedByte(raw, i)
      if (b < 0) return fail('bad percent-encoding')
      if (b < 0x80) {
        // RFC 3986 §6.2.2.2: escaped unreserved characters are equivalent to the characters
        // themselves and are decoded. The sub-delims that mean nothing special inside a path
        // segment (`!$&'()*,=:@`) are decoded too: backends decode them before routing, so a
        // rule on `/v1/items:batchGet` must also catch `/v1/items%3AbatchGet`. `/ ; + ? # %`
        // keep their meaning and so stay encoded.
        if (UNRESERVED[b] === 1 || SEGMENT_SAFE[b] === 1) seg += String.fromCharCode(b)
        else {
          flags |= escapeFlag(b)
          seg += '%' + HEX[b >> 4] + HEX[b & 15]
        }
        prev = b
        i += 3
        continue
      }
      // A run of non-ASCII bytes: checked as UTF-8 and NFKC, kept encoded either way.
      const bytes: number[] = []
      let j = i
      for (; j < end && raw.charCodeAt(j) === PERCENT; j += 3) {
        const v = escapedByte(raw, j)
        if (v < 0) return fail('bad percent-encoding')
        if (v < 0x80) break
        bytes.push(v)
        seg += '%' + HEX[v >> 4] + HEX[v & 15]
      }
      flags |= checkText(bytes, prev)
      prev = -1
      i = j
    }
    if (seg === '..') {
      // RFC 3986 §5.2.4 removes a `..` above the root; a backend that does not would climb out.
      if (stack.length === 0) flags |= Ambiguity.dotAboveRoot
      else stack.pop()
    } else if (seg !== '.' && seg !== '') stack.push(seg)
    if (last) {
      // A final `.`, `..` or empty segment leaves a trailing slash (§5.2.4 step 2B, 2C).
      trailing = seg === '.' || seg === '..' || seg === ''
      break
    }
    start = end + 1
  }
  let path = stack.length === 0 ? '/' : '/' + stack.join('/') + (trailing ? '/' : '')
  if (casePolicy === 'lower') path = lowerAscii(path)
  let key = path.length > 1 && path.charCodeAt(path.length - 1) === SLASH ? path.slice(0, -1) : path
  if (casePolicy === 'insensitive') key = lowerAscii(key)
  return { ok: true, path, key, query, flags }
}

/**
 * Flags a run of escaped bytes >= 0x80: invalid UTF-8 (overlongs, surrogates, truncation), or
 * text that NFKC would rewrite (fullwidth `／`, ligatures), which a normalising backend would
 * route differently (Unicode TR 15; the "best fit" bypasses). `prev` is the ASCII character
 * before the run, since a run of combining marks can compose with it (`=` + U+0338 is `≠`).
 */
function checkText(bytes: number[], prev: number): number {
  let text: string
  try {
    text = utf8.decode(new Uint8Array(bytes))
  } catch {
    return Ambiguity.invalidUtf8
  }
  if (prev >= 0) text = String.fromCharCode(prev) + text
  return text.normalize('NFKC') === text ? 0 : Ambiguity.nonNfkc
}

/** Lower-cases ASCII letters outside escapes; escape hex stays upper-case (RFC 3986 §6.2.2.1). */
function lowerAscii(s: string): string {
  let out = ''
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === PERCENT) i += 2
    else if (c >= 0x41 && c <= 0x5a) {
      out += s.slice(from, i) + String.fromCharCode(c + 32)
      from = i + 1
    }
  }
  return from === 0 ? s : out + s.slice(from)
}
