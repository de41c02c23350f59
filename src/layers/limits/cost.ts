/**
 * A limit rule's `cost:` — how many requests one request counts as, read from the request
 * itself: a batch endpoint's list of operations, a bulk call's ids, a page size. Limits count
 * requests, so without it one batch of 100 reads is one request to every rule.
 *
 * Owns: parsing `cost:` references and reading them. Called by layer.ts.
 * @see ../../../README.md#batch-and-bulk-endpoints
 */
import type { MaybePromise, RequestContext } from '../../engine/types.js'
import { Refusal, type FacetGetter } from '../../identity/facets.js'
import { bodyFields, type BodyFields } from '../../request/body.js'
import { canonicalPath, type CasePolicy } from '../../request/path.js'
import { compileRoutes } from '../../request/routes.js'
import type { CostItems } from './spec.js'

/** The most one request may count as (a value beyond it counts as this). */
export const MAX_COST = 1_000_000

/** Reads a request's cost: a whole number ≥ 1, or a Refusal (the request is refused with 400). */
export type CostReader = (ctx: RequestContext) => MaybePromise<number | Refusal>

/** Why a `cost:` reference is malformed, or undefined. Used by config validation. */
export function costProblem(ref: string): string | undefined {
  if (ref === 'body') return undefined
  if (/^(field|query|header):[^:\s]+$/.test(ref)) return undefined
  return `expected body, field:NAME, query:NAME or header:NAME; got ${JSON.stringify(ref)}`
}

/**
 * @param facet the facets' getter for `query:` and `header:` references (one value, repeats
 * refused).
 * @example
 * costReader('field:operations', getter) // a JSON body's `operations` list: its length
 */
export function costReader(ref: string, facet: (ref: string) => FacetGetter): CostReader {
  if (ref === 'body')
    return (ctx) =>
      bodyFields(ctx).then((fields) => {
        if (!fields.ok) return new Refusal(fields.reason)
        return Array.isArray(fields.value) ? atLeastOne(fields.value.length) : 1
      })
  const colon = ref.indexOf(':')
  const part = ref.slice(0, colon)
  const name = ref.slice(colon + 1)
  if (part === 'field') return (ctx) => bodyFields(ctx).then((fields) => fieldCost(fields, name))
  const get = facet(ref)
  const what = part === 'query' ? `query parameter ${name}` : `header ${name}`
  return (ctx) => {
    const v = get(ctx, undefined)
    return v instanceof Promise ? v.then((x) => numberCost(x, what)) : numberCost(v, what)
  }
}

/**
 * `cost: { field, paths, methods }`: the items of a body's list that match, each one request;
 * none matching costs 0 (the rule does not count the request). Anything but a list is read as
 * `field:NAME` reads it (an object's entries are its items).
 * @example
 * costItems({ field: 'operations', paths: ['/exports/*'], pathField: 'path', methodField: 'method' }, true)
 */
export function costItems(spec: CostItems, foldCase: boolean): CostReader {
  const paths = spec.paths
    ? compileRoutes([{ paths: spec.paths, value: true }], foldCase)
    : undefined
  const methods = spec.methods ? new Set<string>(spec.methods) : undefined
  // GET includes HEAD, as everywhere else a rule names methods.
  if (methods?.has('GET')) methods.add('HEAD')
  const policy = foldCase ? 'insensitive' : 'sensitive'

  /** Whether an item counts: it matches, or it does not say enough to tell. */
  function counts(item: unknown): boolean {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return true
    const o = item as Record<string, unknown>
    const m = o[spec.methodField]
    // Trimmed: a dispatcher that trims ` POST` must not run an export the rule did not count.
    if (methods && typeof m === 'string' && !methods.has(m.trim().toUpperCase())) return false
    if (!paths) return true
    const p = o[spec.pathField]
    if (typeof p !== 'string') return true
    const key = itemKey(p, policy)
    return key === undefined || paths.all('GET', key).length > 0
  }

  return (ctx) =>
    bodyFields(ctx).then((fields) => {
      if (!fields.ok) return new Refusal(fields.reason)
      if (fields.kind !== 'json') return fieldCost(fields, spec.field)
      const v = fields.get(spec.field)
      const items = Array.isArray(v)
        ? v
        : v !== null && typeof v === 'object'
          ? Object.values(v)
          : undefined
      if (items === undefined) return fieldCost(fields, spec.field)
      let n = 0
      for (const item of items) if (counts(item)) n++
      return n > MAX_COST ? MAX_COST : n
    })
}

/**
 * A batch item's path as a route key: an absolute URL's path, a relative one from the root,
 * without its query; undefined when it cannot be read plainly (it then counts).
 */
function itemKey(raw: string, policy: CasePolicy): string | undefined {
  let p = raw.trim()
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(p)
  if (scheme) p = p.slice(scheme[0].length) || '/'
  const end = p.search(/[?#]/)
  if (end >= 0) p = p.slice(0, end)
  if (!p.startsWith('/')) p = '/' + p
  const canon = canonicalPath(p, policy)
  return canon.ok && canon.flags === 0 ? canon.key : undefined
}

function fieldCost(fields: BodyFields, name: string): number | Refusal {
  if (!fields.ok) return new Refusal(fields.reason)
  if (fields.kind === 'form' || fields.kind === 'multipart') {
    // A form has no lists but repeats: one per copy of the field.
    let n = 0
    for (const [k] of fields.entries?.() ?? []) if (k === name) n++
    return atLeastOne(n)
  }
  const v = fields.get(name)
  // (A JSON key given twice never gets here: the body is refused when parsed.)
  if (v === undefined || v === null) return 1
  if (Array.isArray(v)) return atLeastOne(v.length)
  if (typeof v === 'object') return atLeastOne(Object.keys(v).length)
  if (typeof v === 'string' || typeof v === 'number')
    return numberCost(String(v), `body field ${name}`)
  return new Refusal(`body field ${name} is a ${typeof v}, expected a list or a whole number`)
}

/** `field:operations`, or `field:operations (POST /exports/*)` for counted items. */
export function describeCost(cost: string | CostItems): string {
  if (typeof cost === 'string') return cost
  const which = [cost.methods?.join('|'), cost.paths?.join(' ')].filter(Boolean).join(' ')
  return `field:${cost.field} (${which})`
}

/** A count given as a number: whole, not negative; absent counts as 1. */
function numberCost(v: string | undefined | Refusal, what: string): number | Refusal {
  if (v instanceof Refusal) return v
  if (v === undefined || v === '') return 1
  // Digits only: `1e3`, `0x10` or ` 5` could be read as another number by the backend.
  if (!/^\d{1,16}$/.test(v))
    return new Refusal(`${what} is ${JSON.stringify(v.slice(0, 40))}, expected a whole number`)
  return atLeastOne(Number(v))
}

function atLeastOne(n: number): number {
  return n < 1 ? 1 : n > MAX_COST ? MAX_COST : n
}
