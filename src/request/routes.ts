/**
 * Route templates compiled once into a segment trie, so matching costs one walk down the
 * path's segments, not a scan of every route.
 *
 * Patterns: `/api/products/:id` (a parameter matches one segment), `/api/*` (this path and
 * everything below it), `/health` (exact). Methods narrow a pattern; none means any method.
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
  readonly order: number
  /** The shared hit of a pattern without parameters, made on its first match. */
  hit?: RouteHit<T>
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
    const entry: Entry<T> = {
      template: pattern,
      methods,
      value: p.value,
      paramNames,
      order,
      hit: undefined,
    }
    ;(wildcard ? at.rest : at.exact).push(entry)
  }

  function best(method: string, key: string): RouteHit<T> | undefined {
    const values = SCRATCH
    values.length = 0
    const entry = walk(root, splitKey(key), 0, method, values)
    if (!entry) return undefined
    // A pattern without parameters always gives the same hit: made once, shared.
    if (entry.paramNames.length === 0)
      return (entry.hit ??= Object.freeze({
        template: entry.template,
        params: EMPTY,
        value: entry.value,
      }))
    return { template: entry.template, params: params(entry, values), value: entry.value }
  }

  function allHits(method: string, key: string): readonly RouteHit<T>[] {
    const found: [Entry<T>, string[]][] = []
    collect(root, splitKey(key), 0, method, found, [])
    if (found.length === 0) return NO_HITS
    inOrder(found)
    const out: RouteHit<T>[] = []
    for (let i = 0; i < found.length; i++) {
      const [e, values] = found[i]!
      if (i > 0 && found[i - 1]![0].order === e.order) continue
      out.push({ template: e.template, params: params(e, values), value: e.value })
    }
    return out
  }

  function all(method: string, key: string): readonly T[] {
    const found: [Entry<T>, string[]][] = []
    collect(root, splitKey(key), 0, method, found, undefined)
    if (found.length === 0) return NO_HITS
    inOrder(found)
    const out: T[] = [found[0]![0].value]
    // An entry with several patterns may match more than once: keep it once.
    for (let i = 1; i < found.length; i++)
      if (found[i]![0].order !== found[i - 1]![0].order) out.push(found[i]![0].value)
    return out
  }

  return { best, all, allHits, size: patterns.length }
}

/**
 * The most specific entry below `at`. On a match, `values` holds the matched parameter values
 * (a failed branch takes its own back out).
 */
function walk<T>(
  at: Node<T>,
  segs: readonly string[],
  i: number,
  method: string,
  values: string[],
): Entry<T> | undefined {
  if (i === segs.length) return pick(at.exact, method) ?? pick(at.rest, method)
  const seg = segs[i]!
  const st = at.statics.get(seg)
  if (st) {
    const r = walk(st, segs, i + 1, method, values)
    if (r) return r
  }
  if (at.param) {
    values.push(seg)
    const r = walk(at.param, segs, i + 1, method, values)
    if (r) return r
    values.pop()
  }
  return pick(at.rest, method)
}

/** `best`'s parameter values while it walks (matching is synchronous, so one array will do). */
const SCRATCH: string[] = []

/** Collects every match; `values` (the parameter values so far) is tracked only when given. */
function collect<T>(
  at: Node<T>,
  segs: readonly string[],
  i: number,
  method: string,
  out: [Entry<T>, string[]][],
  values: string[] | undefined,
) {
  const snap = values ? values.slice() : NO_VALUES
  for (const e of at.rest) if (allows(e, method)) out.push([e, snap])
  if (i === segs.length) {
    for (const e of at.exact) if (allows(e, method)) out.push([e, snap])
    return
  }
  const st = at.statics.get(segs[i]!)
  if (st) collect(st, segs, i + 1, method, out, values)
  if (at.param) {
    values?.push(segs[i]!)
    collect(at.param, segs, i + 1, method, out, values)
    values?.pop()
  }
}

const NO_VALUES: string[] = []
/** What `all` and `allHits` return for no match: shared, so callers must not change it. */
const NO_HITS: readonly never[] = Object.freeze([])

/**
 * Sorts matches into config order, in place: an insertion sort, as the matches of one path are
 * a handful (Array.prototype.sort allocates a work copy on every call).
 */
function inOrder(found: [Entry<unknown>, string[]][]) {
  for (let i = 1; i < found.length; i++) {
    const x = found[i]!
    let j = i - 1
    while (j >= 0 && found[j]![0].order > x[0].order) {
      found[j + 1] = found[j]!
      j--
    }
    found[j + 1] = x
  }
}

function pick<T>(entries: readonly Entry<T>[], method: string): Entry<T> | undefined {
  for (const e of entries) if (allows(e, method)) return e
  return undefined
}

function allows(e: Entry<unknown>, method: string): boolean {
  return e.methods === undefined || e.methods.has(method)
}

function params(e: Entry<unknown>, values: readonly string[]): Readonly<Record<string, string>> {
  if (e.paramNames.length === 0) return EMPTY
  const out: Record<string, string> = {}
  for (let i = 0; i < e.paramNames.length; i++) out[e.paramNames[i]!] = values[i] ?? ''
  return out
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
    if (s === '.' || s === '..') return 'must not contain dot segments'
  }
  return undefined
}
