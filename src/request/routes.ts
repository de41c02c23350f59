/**
 * Route templates compiled once into a segment trie, so matching costs one walk down the
 * path's segments, not a scan of every route.
 *
 * Patterns: `/api/products/:id` (a parameter matches one segment), `/api/*` (this path and
 * everything below it), `/health` (exact). Methods narrow a pattern; none means any method;
 * `GET` includes `HEAD`.
 * Matching uses the canonical path's `key` (case-folded per the case policy, trailing slash
 * removed), so `/API/Products/7/` finds `/api/products/:id` under the default policy.
 * @see ../../README.md#routes
 */

export interface RoutePattern<T> {
  /** One or more patterns; the entry matches when any does. */
  readonly paths: readonly string[]
  /** Upper-case methods; empty or undefined means any. */
  readonly methods?: readonly string[]
  readonly value: T
}

export interface RouteHit<T> {
  readonly template: string
  readonly params: Readonly<Record<string, string>>
  readonly value: T
}

interface Entry<T> {
  readonly template: string
  readonly methods: ReadonlySet<string> | undefined
  readonly value: T
  readonly paramNames: readonly string[]
  /** The parameter names joined: entries with the same names can share a params object. */
  readonly namesKey: string
  readonly order: number
  /** The shared hit of a pattern without parameters, made on its first match. */
  hit: RouteHit<T> | undefined
  /**
   * `all`'s and `allHits`' answer when this entry is the only match: shared, so callers must not
   * change it (typed readonly; not frozen, since V8 iterates a frozen array with `for…of`
   * through the generic iterator, about 5× slower, and callers loop over these per request).
   */
  values: readonly T[] | undefined
  alone: readonly RouteHit<T>[] | undefined
}

/** A parameterless entry's hit: always the same, so made once. */
function sharedHit<T>(e: Entry<T>): RouteHit<T> {
  return (e.hit ??= Object.freeze({ template: e.template, params: EMPTY, value: e.value }))
}

interface Node<T> {
  readonly statics: Map<string, Node<T>>
  param: Node<T> | undefined
  /** Entries whose pattern ends here. */
  readonly exact: Entry<T>[]
  /** Entries of a `/*` pattern rooted here: they match this node and everything below. */
  readonly rest: Entry<T>[]
}

function node<T>(): Node<T> {
  return { statics: new Map(), param: undefined, exact: [], rest: [] }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({})

/**
 * A compiled route table.
 * @example
 * const m = compileRoutes([{ paths: ['/api/products/:id'], methods: ['GET'], value: 'p' }], true)
 * m.best('GET', '/api/products/7') // { template: '/api/products/:id', params: { id: '7' }, value: 'p' }
 */
export interface RouteMatcher<T> {
  /** The most specific match (static beats parameter beats wildcard; earlier config wins ties). */
  best(method: string, key: string): RouteHit<T> | undefined
  /** Every matching entry's value, in config order. For layers whose rules all apply. */
  all(method: string, key: string): readonly T[]
  /** Like `all`, with each entry's template and parameters. */
  allHits(method: string, key: string): readonly RouteHit<T>[]
  /** Number of entries. */
  readonly size: number
}

/**
 * Compiles patterns into a trie. `foldCase` lower-cases the patterns' static segments, to match
 * keys produced under the `insensitive` and `lower` case policies.
 * Throws TypeError on a malformed pattern (config validation reports those first).
 */
export function compileRoutes<T>(
  patterns: readonly RoutePattern<T>[],
  foldCase: boolean,
): RouteMatcher<T> {
  const root = node<T>()
  patterns.forEach((p, order) => {
    for (const pattern of p.paths) add(p, pattern, order)
  })

  function add(p: RoutePattern<T>, pattern: string, order: number) {
    const problem = patternProblem(pattern)
    if (problem) throw new TypeError(`route pattern ${JSON.stringify(pattern)}: ${problem}`)
    const segments = splitKey(foldCase ? foldStatic(pattern) : pattern)
    const paramNames: string[] = []
    let at = root
    let wildcard = false
    for (const seg of segments) {
      if (seg === '*') {
        wildcard = true
        break
      }
      if (seg.startsWith(':')) {
        paramNames.push(seg.slice(1))
        at = at.param ??= node<T>()
      } else {
        let next = at.statics.get(seg)
        if (!next) at.statics.set(seg, (next = node<T>()))
        at = next
      }
    }
    const methods = p.methods?.length ? new Set(p.methods.map((m) => m.toUpperCase())) : undefined
    // HEAD is GET without the body (RFC 9110 §9.3.2): backends answer it with their GET
    // handler, so a rule on GET must see it too, or HEAD is an uncounted, unchecked way in.
    if (methods?.has('GET')) methods.add('HEAD')
    const entry: Entry<T> = {
      template: pattern,
      methods,
      value: p.value,
      paramNames,
      namesKey: paramNames.join('/'),
      order,
      hit: undefined,
      values: undefined,
      alone: undefined,
    }
    ;(wildcard ? at.rest : at.exact).push(entry)
  }

  function best(method: string, key: string): RouteHit<T> | undefined {
    const entry = walk(root, splitKey(key), 0, 0, method)
    if (!entry) return undefined
    // A pattern without parameters always gives the same hit: made once, shared.
    if (entry.paramNames.length === 0) return sharedHit(entry)
    return { template: entry.template, params: params(entry, WALK_VALUES), value: entry.value }
  }

  function allHits(method: string, key: string): readonly RouteHit<T>[] {
    const found = collectAll(root, splitKey(key), method, true)
    if (found === 0) return NO_HITS
    // The common case, one pattern without parameters: the same answer every time, shared.
    if (found === 1 && FOUND[0]!.paramNames.length === 0) {
      const e = FOUND[0] as Entry<T>
      return (e.alone ??= [sharedHit(e)])
    }
    const out: RouteHit<T>[] = []
    // Rules on one pattern (three limits on /products/:id) get one params object between them.
    let lastNames: string | undefined
    let lastValues: readonly string[] | undefined
    let lastParams: Readonly<Record<string, string>> = EMPTY
    for (let i = 0; i < found; i++) {
      const e = FOUND[i] as Entry<T>
      if (i > 0 && FOUND[i - 1]!.order === e.order) continue
      if (e.paramNames.length === 0) {
        out.push(sharedHit(e))
        continue
      }
      const values = FOUND_VALUES[i]!
      if (values !== lastValues || e.namesKey !== lastNames) {
        lastParams = params(e, values)
        lastValues = values
        lastNames = e.namesKey
      }
      out.push({ template: e.template, params: lastParams, value: e.value })
    }
    return out
  }

  function all(method: string, key: string): readonly T[] {
    const found = collectAll(root, splitKey(key), method, false)
    if (found === 0) return NO_HITS
    const first = FOUND[0] as Entry<T>
    if (found === 1) return (first.values ??= [first.value])
    const out: T[] = [first.value]
    // An entry with several patterns may match more than once: keep it once.
    for (let i = 1; i < found; i++)
      if (FOUND[i]!.order !== FOUND[i - 1]!.order) out.push((FOUND[i] as Entry<T>).value)
    return out
  }

  return { best, all, allHits, size: patterns.length }
}

/**
 * The most specific entry below `at`. On a match, WALK_VALUES[0..) holds the matched parameter
 * values (`depth` of them are set so far).
 */
function walk<T>(
  at: Node<T>,
  segs: readonly string[],
  i: number,
  depth: number,
  method: string,
): Entry<T> | undefined {
  if (i === segs.length) return pick(at.exact, method) ?? pick(at.rest, method)
  const seg = segs[i]!
  const st = at.statics.get(seg)
  if (st) {
    const r = walk(st, segs, i + 1, depth, method)
    if (r) return r
  }
  if (at.param) {
    WALK_VALUES[depth] = seg
    const r = walk(at.param, segs, i + 1, depth + 1, method)
    if (r) return r
  }
  return pick(at.rest, method)
}

/**
 * Every match of `segs`, in config order, into the shared {@link FOUND} (and, with `withValues`,
 * each match's parameter values into {@link FOUND_VALUES}); returns how many. Matching is
 * synchronous and runs no other code, so one set of scratch arrays serves every matcher. They
 * are reused by count, never truncated: setting an array's length is a runtime call in V8.
 */
function collectAll<T>(
  root: Node<T>,
  segs: readonly string[],
  method: string,
  withValues: boolean,
): number {
  nFound = 0
  collect(root, segs, 0, 0, method, withValues)
  // Config order, by an insertion sort: the matches of one path are a handful
  // (Array.prototype.sort allocates a work copy on every call).
  for (let i = 1; i < nFound; i++) {
    const e = FOUND[i]!
    const v = FOUND_VALUES[i]!
    let j = i - 1
    while (j >= 0 && FOUND[j]!.order > e.order) {
      FOUND[j + 1] = FOUND[j]!
      FOUND_VALUES[j + 1] = FOUND_VALUES[j]!
      j--
    }
    FOUND[j + 1] = e
    FOUND_VALUES[j + 1] = v
  }
  return nFound
}

/** `depth` parameter values of the walk so far are in WALK_VALUES[0..depth). */
function collect<T>(
  at: Node<T>,
  segs: readonly string[],
  i: number,
  depth: number,
  method: string,
  withValues: boolean,
) {
  if (at.rest.length) addMatches(at.rest, method, depth, withValues)
  if (i === segs.length) {
    if (at.exact.length) addMatches(at.exact, method, depth, withValues)
    return
  }
  const st = at.statics.get(segs[i]!)
  if (st) collect(st, segs, i + 1, depth, method, withValues)
  if (at.param) {
    WALK_VALUES[depth] = segs[i]!
    collect(at.param, segs, i + 1, depth + 1, method, withValues)
  }
}

/** Appends the entries that allow `method` to {@link FOUND}. */
function addMatches(
  entries: readonly Entry<unknown>[],
  method: string,
  depth: number,
  withValues: boolean,
) {
  // One copy of the walk's values for every entry ending here (they share it, and allHits
  // shares one params object between entries with the same names).
  let values: readonly string[] | undefined
  for (const e of entries) {
    if (!allows(e, method)) continue
    FOUND[nFound] = e
    FOUND_VALUES[nFound] =
      withValues && e.paramNames.length > 0 ? (values ??= WALK_VALUES.slice(0, depth)) : NO_VALUES
    nFound++
  }
}

/** Scratch of {@link collectAll}: the matches, their parameter values, the walk's values. */
const FOUND: Entry<unknown>[] = []
const FOUND_VALUES: (readonly string[])[] = []
const WALK_VALUES: string[] = []
let nFound = 0

const NO_VALUES: readonly string[] = []
/** What `all` and `allHits` return for no match: shared, so callers must not change it (not frozen: see Entry.values). */
const NO_HITS: readonly never[] = []

function pick<T>(entries: readonly Entry<T>[], method: string): Entry<T> | undefined {
  for (const e of entries) if (allows(e, method)) return e
  return undefined
}

function allows(e: Entry<unknown>, method: string): boolean {
  return e.methods === undefined || e.methods.has(method)
}

/** The last params object made, its names (`namesKey`) and values: see {@link params}. */
let madeNames = ''
let madeValues: readonly string[] = NO_VALUES
let made: Readonly<Record<string, string>> = EMPTY

/**
 * The params object of a match. One request is matched by several tables in turn (the
 * gateway's routes, the contract's operations, each layer's rules), mostly with the same names
 * and values: the last object made is handed out again when they are the same, so a request
 * makes one, not one per table. Shared: callers must not change it (typed readonly).
 */
function params(e: Entry<unknown>, values: readonly string[]): Readonly<Record<string, string>> {
  const n = e.paramNames.length
  if (n === 0) return EMPTY
  if (e.namesKey === madeNames) {
    let same = true
    for (let i = 0; i < n; i++) if ((values[i] ?? '') !== madeValues[i]) same = false
    if (same) return made
  }
  const out: Record<string, string> = {}
  const copy: string[] = new Array(n)
  for (let i = 0; i < n; i++) out[e.paramNames[i]!] = copy[i] = values[i] ?? ''
  madeNames = e.namesKey
  madeValues = copy
  made = out
  return out
}

let lastLowerOf = ''
let lastLower = ''

/**
 * `key` lower-cased, for matchers that always fold case (deception's): several of them ask per
 * request with the same key, which is scanned once.
 */
export function lowerKey(key: string): string {
  if (key !== lastLowerOf) {
    lastLowerOf = key
    lastLower = key.toLowerCase()
  }
  return lastLower
}

let lastKey = ''
let lastSegments: readonly string[] = []

/**
 * `/a/b/` and `/a/b` both give ['a', 'b']; `/` gives []. Every matcher of a request (routes,
 * then each layer's) splits the same key in turn, so the last split is remembered.
 */
function splitKey(key: string): readonly string[] {
  if (key === lastKey) return lastSegments
  const out: string[] = []
  let start = 1
  for (let i = 1; i <= key.length; i++) {
    if (i === key.length || key.charCodeAt(i) === 47 /* / */) {
      if (i > start) out.push(key.slice(start, i))
      start = i + 1
    }
  }
  lastKey = key
  lastSegments = out
  return out
}

function foldStatic(pattern: string): string {
  return pattern
    .split('/')
    .map((s) => (s.startsWith(':') ? s : s.toLowerCase()))
    .join('/')
}

/** Why a pattern is malformed, or undefined when it is fine. Used by config validation too. */
export function patternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return 'must start with "/"'
  const segs = pattern.split('/').slice(1)
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!
    if (s === '*' && i !== segs.length - 1) return '"*" may only be the last segment'
    if (s.includes('*') && s !== '*') return '"*" must be a whole segment, as in "/api/*"'
    if (s.startsWith(':') && !/^:[A-Za-z_][A-Za-z0-9_]*$/.test(s))
      return `parameter ${JSON.stringify(s)} must be ":" followed by a name`
    // Its value would set the params object's prototype, never be read as a parameter.
    if (s === ':__proto__') return 'parameter name "__proto__" is reserved: choose another name'
    if (s === '.' || s === '..') return 'must not contain dot segments'
    if (/^\{.*\}$/.test(s))
      return `${JSON.stringify(s)} is read literally: write a parameter as ":${s.slice(1, -1).replace(/[^A-Za-z0-9_]/g, '') || 'name'}" (OpenAPI's {name} is for the contract's document)`
  }
  return undefined
}
