/**
 * What a schema says about the types of a value, read once at `create()`: enough to turn the
 * strings a query, a header, a cookie or a form carries into the numbers and booleans the
 * schema wants (`"5"` → 5 for an integer), and to leave everything else a string, so the
 * compiled schema reports `type`.
 * @see ../../../docs/contract.md#parameters
 */
import { isExactNumber } from '../../request/number.js'
import type { DocumentSet } from './documents.js'
import { Unreadable } from './violations.js'

/** What a schema says about the types of a value, of its items and of its properties. */
export interface Shape {
  readonly types: ReadonlySet<string>
  readonly items: Shape | undefined
  readonly props: ReadonlyMap<string, Shape> | undefined
}

export const NO_SHAPE: Shape = { types: new Set(), items: undefined, props: undefined }
export const NO_PROPS: ReadonlyMap<string, Shape> = new Map()
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const INTEGER = /^-?(?:0|[1-9]\d*)$/

/**
 * The shape of a schema (types, item and property types), following refs and `allOf` a few
 * levels deep: enough to turn strings into the types the schema wants.
 */
export function shapeOf(schema: unknown, set: DocumentSet, depth = 0): Shape {
  if (depth > 8 || schema === null || typeof schema !== 'object') return NO_SHAPE
  const s = schema as Record<string, unknown>
  if (typeof s.$ref === 'string') return shapeOf(set.deref(s.$ref).value, set, depth + 1)
  const types = new Set<string>()
  let items: Shape | undefined
  let props: Map<string, Shape> | undefined
  const add = (sh: Shape) => {
    for (const t of sh.types) types.add(t)
    items ??= sh.items
    if (sh.props) for (const [k, v] of sh.props) (props ??= new Map()).set(k, v)
  }
  if (typeof s.type === 'string') types.add(s.type)
  else if (Array.isArray(s.type)) for (const t of s.type) types.add(String(t))
  if (s.items !== undefined) items = shapeOf(s.items, set, depth + 1)
  if (s.properties && typeof s.properties === 'object')
    for (const [k, v] of Object.entries(s.properties))
      (props ??= new Map()).set(k, shapeOf(v, set, depth + 1))
  for (const k of ['allOf', 'anyOf', 'oneOf'])
    if (Array.isArray(s[k])) for (const sub of s[k] as unknown[]) add(shapeOf(sub, set, depth + 1))
  if (types.size === 0 && props) types.add('object')
  if (types.size === 0 && items) types.add('array')
  return { types, items, props }
}

/** Turns a string into what the shape asks for; leaves it a string when it cannot. */
export function coerce(value: string, shape: Shape): unknown {
  const t = shape.types
  if (t.size === 0 || t.has('string')) return value
  // Only the plain form of an integer (`1e3`, `1000.0` are what `parseInt` reads as 1 and 1000
  // and Go refuses), and only numbers parsing loses nothing of (request/number.ts): the backend
  // must read the value the schema's bounds were checked against. Else a string: `type` fails.
  if (INTEGER.test(value) && (t.has('integer') || t.has('number'))) {
    const n = Number(value)
    if (Number.isSafeInteger(n)) return n
  } else if (t.has('number') && NUMBER.test(value) && isExactNumber(value)) return Number(value)
  if (t.has('boolean') && (value === 'true' || value === 'false')) return value === 'true'
  if (t.has('null') && value === '') return null
  return value
}

/**
 * A form or multipart body as an object for its schema: repeated fields become arrays where the
 * schema wants an array, and are ambiguous (refused) where it does not; files read as their name.
 */
export function formObject(
  entries: readonly (readonly [string, unknown])[],
  shape: Shape | undefined,
): Record<string, unknown> | Unreadable {
  const props = shape?.props ?? NO_PROPS
  const obj: Record<string, unknown> = {}
  for (const [k, v] of entries) {
    const prop = props.get(k) ?? NO_SHAPE
    const many = prop.types.has('array')
    const text = typeof v === 'string' ? v : String((v as { file?: unknown }).file ?? '')
    const value = coerce(text, many ? (prop.items ?? NO_SHAPE) : prop)
    if (!Object.hasOwn(obj, k)) obj[k] = many ? [value] : value
    else if (many) (obj[k] as unknown[]).push(value)
    else return new Unreadable('duplicate', `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)
  }
  return obj
}
