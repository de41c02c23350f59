/**
 * Turns OpenAPI Schema Objects into JSON Schema 2020-12 that ajv compiles, in place, once per
 * schema object (following `$ref`s into other components and files):
 *
 * - OpenAPI 3.0: `nullable: true` becomes a `null` type (or an `anyOf` with `{type: 'null'}`),
 *   boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, siblings of `$ref` are
 *   dropped (3.0 ignores them). A tuple `items: [...]` becomes `prefixItems`.
 * - Both versions: a property marked `readOnly` may not be sent in a request (OpenAPI: "SHOULD
 *   NOT be sent as part of the request"), so it becomes a property that always fails with the
 *   rule `readOnly`, and leaves `required`. `$schema` and `$id` are dropped: refs are resolved
 *   by file location (see documents.ts), and a schema is always read as 2020-12. A stray
 *   `nullable` in 3.1 is dropped too: ajv would otherwise honour it as its own extension.
 *
 * ajv runs with `validateSchema: false` (checking every schema against the 2020-12 meta-schema
 * costs more than the rest of loading together), so the keywords that would compile into
 * nonsense are checked here instead, each problem naming its file and line.
 * @see ../../../docs/contract.md#openapi-30-and-31
 */
import type { DocumentSet, Pointer, Where } from './documents.js'

export type OpenApiVersion = '3.0' | '3.1'

/** The keyword a `readOnly` property fails with; the problem body reports it as `readOnly`. */
export const READ_ONLY_KEYWORD = 'x-bulwark-read-only'

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'])
const ONE_SCHEMA = [
  'not',
  'if',
  'then',
  'else',
  'additionalProperties',
  'additionalItems',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
] as const
const SCHEMA_LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const
const SCHEMA_MAP = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']
const NON_NEGATIVE = [
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'minContains',
  'maxContains',
] as const

/**
 * Converts schemas reachable from a document, remembering which objects it has seen (a schema
 * shared by many operations, or a recursive one, is converted once).
 * @example
 * const convert = schemaConverter(set)
 * convert(op.requestBody.content['application/json'].schema, '3.0', where)
 */
export function schemaConverter(set: DocumentSet) {
  const seen = new WeakSet<object>()

  function convert(schema: unknown, version: OpenApiVersion, where: Where): void {
    if (typeof schema === 'boolean') {
      if (version === '3.0') throw set.error(where, 'expected a schema object, got a boolean')
      return
    }
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
      throw set.error(where, `expected a schema object, got ${describe(schema)}`)
    if (seen.has(schema)) return
    seen.add(schema)
    const s = schema as Record<string, unknown>
    const at = (k: string | number, ...more: (string | number)[]): Where => ({
      file: where.file,
      at: [...where.at, k, ...more],
    })

    if (typeof s.$ref === 'string') {
      const target = set.deref(s.$ref, at('$ref'))
      convert(target.value, version, target)
      if (version === '3.0') {
        // OpenAPI 3.0: "properties adjacent to a $ref are ignored", except the common (if
        // strictly invalid) `nullable: true` next to one, which is kept.
        const ref = s.$ref
        const nullable = s.nullable === true
        for (const k of Object.keys(s)) delete s[k]
        if (nullable) s.anyOf = [{ $ref: ref }, { type: 'null' }]
        else s.$ref = ref
        return
      }
    }
    delete s.$schema
    delete s.$id

    check(s, version, at, set)
    if (version === '3.0') {
      for (const [ex, bound] of [
        ['exclusiveMinimum', 'minimum'],
        ['exclusiveMaximum', 'maximum'],
      ] as const) {
        if (s[ex] === true && typeof s[bound] === 'number') {
          s[ex] = s[bound]
          delete s[bound]
        } else if (typeof s[ex] === 'boolean') delete s[ex]
      }
    }
    // A tuple written the draft-04 way; 2020-12 calls it prefixItems.
    if (Array.isArray(s.items)) {
      s.prefixItems = s.items
      delete s.items
    }

    for (const k of ONE_SCHEMA)
      if (s[k] !== undefined && typeof s[k] !== 'boolean') convert(s[k], version, at(k))
    if (s.items !== undefined && typeof s.items !== 'boolean')
      convert(s.items, version, at('items'))
    for (const k of SCHEMA_LIST) {
      const list = s[k]
      if (list === undefined) continue
      if (!Array.isArray(list) || list.length === 0)
        throw set.error(at(k), `expected a non-empty list of schemas, got ${describe(list)}`)
      list.forEach((sub, i) => convert(sub, version, at(k, i)))
    }
    for (const k of SCHEMA_MAP) {
      const map = s[k]
      if (map === undefined) continue
      if (map === null || typeof map !== 'object' || Array.isArray(map))
        throw set.error(at(k), `expected a map of schemas, got ${describe(map)}`)
      for (const [name, sub] of Object.entries(map)) convert(sub, version, at(k, name))
    }
    if (s.properties) readOnlyProperties(s)

    if (version === '3.0' && s.nullable === true) nullable(s)
    // 3.1 has no `nullable` (a null type says it), and ajv would otherwise honour it as its own
    // extension keyword.
    delete s.nullable
  }

  return convert
}

/** A property the client must not send: always fails, with its own keyword. */
function readOnlyProperties(s: Record<string, unknown>) {
  const props = s.properties as Record<string, unknown>
  let dropped: Set<string> | undefined
  for (const [name, sub] of Object.entries(props)) {
    if (sub && typeof sub === 'object' && (sub as Record<string, unknown>).readOnly === true) {
      props[name] = { [READ_ONLY_KEYWORD]: true }
      ;(dropped ??= new Set()).add(name)
    }
  }
  if (dropped && Array.isArray(s.required))
    s.required = (s.required as string[]).filter((r) => !dropped.has(r))
}

/** OpenAPI 3.0 `nullable: true` as JSON Schema: add `null` to the type (and to an enum). */
function nullable(s: Record<string, unknown>) {
  if (typeof s.type === 'string') s.type = [s.type, 'null']
  else if (Array.isArray(s.type)) {
    if (!s.type.includes('null')) s.type = [...s.type, 'null']
  } else if (s.allOf || s.oneOf || s.anyOf) {
    // No type of its own: wrap what it says in "that, or null".
    const inner: Record<string, unknown> = {}
    for (const k of Object.keys(s)) {
      if (k === 'nullable') continue
      inner[k] = s[k]
      delete s[k]
    }
    s.anyOf = [inner, { type: 'null' }]
    return
  } else return
  if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...s.enum, null]
}

/** Keyword values that would compile into nonsense (or not at all), reported with their place. */
function check(
  s: Record<string, unknown>,
  version: OpenApiVersion,
  at: (k: string) => Where,
  set: DocumentSet,
): void {
  const fail = (k: string, expected: string): never => {
    throw set.error(at(k), `expected ${expected}, got ${describe(s[k])}`)
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (types.length === 0 || !types.every((t) => typeof t === 'string' && TYPES.has(t)))
      fail(
        'type',
        `one of ${[...TYPES].join(', ')}${version === '3.1' ? ' (or a list of them)' : ''}`,
      )
  }
  for (const k of ['minimum', 'maximum'])
    if (s[k] !== undefined && typeof s[k] !== 'number') fail(k, 'a number')
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum']) {
    const v = s[k]
    if (v === undefined) continue
    if (version === '3.0' ? typeof v !== 'boolean' : typeof v !== 'number')
      fail(k, version === '3.0' ? 'true or false (OpenAPI 3.0)' : 'a number (OpenAPI 3.1)')
  }
  if (s.multipleOf !== undefined && !(typeof s.multipleOf === 'number' && s.multipleOf > 0))
    fail('multipleOf', 'a number above 0')
  for (const k of NON_NEGATIVE) {
    const v = s[k]
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0))
      fail(k, 'a whole number of at least 0')
  }
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== 'string') fail('pattern', 'a regular expression')
    try {
      new RegExp(s.pattern as string, 'u')
    } catch (err) {
      fail('pattern', `a regular expression (${(err as Error).message})`)
    }
  }
  if (
    s.required !== undefined &&
    !(Array.isArray(s.required) && s.required.every((r) => typeof r === 'string'))
  )
    fail('required', 'a list of property names')
  if (s.enum !== undefined && !(Array.isArray(s.enum) && s.enum.length > 0))
    fail('enum', 'a non-empty list')
  if (s.format !== undefined && typeof s.format !== 'string') fail('format', 'a format name')
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  return JSON.stringify(v)
}

/** `where` plus more keys. */
export function under(where: Where, ...keys: Pointer): Where {
  return { file: where.file, at: [...where.at, ...keys] }
}
