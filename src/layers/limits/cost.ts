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
