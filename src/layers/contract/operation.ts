/**
 * One OpenAPI operation compiled for the hot path: a reader per declared parameter (its style
 * and types read once) and one compiled validator per request body media type, each checking
 * an "envelope" `{ path, query, header, cookie, body }` in a single call.
 * Called by `compile.ts` at `create()`.
 * @see ../../../docs/contract.md#how-it-works
 */
import type { ValidateFunction } from './ajv.js'
import { follow, isObj, type DocumentSet, type Where } from './documents.js'
import type { Credentials } from './credentials.js'
import { fakeAnswer, type FakeAnswer } from './fake-answer.js'
import { isFormType, isJsonType, mediaType } from './media-type.js'
import { paramReader, type ParamReader } from './param-reader.js'
import type { PathParam } from './path-template.js'
import { shapeOf, type Shape } from './shape.js'
import type { ContractSpec } from './spec.js'
import { under, type OpenApiVersion, type schemaConverter } from './to-json-schema.js'
import type { Section } from './violations.js'

type Obj = Record<string, unknown>

/** OpenAPI: header parameters with these names are ignored (they belong to other fields). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization'])

/** A request body media type of one operation. */
export interface Media {
  /** Validates the envelope with this media type's body schema. */
  readonly validate: ValidateFunction | undefined
  /** True when the schema needs the parsed body (JSON, form, multipart). */
  readonly parsed: boolean
  /** Types of the form's fields, for turning form strings into numbers and booleans. */
  readonly shape: Shape | undefined
}

export interface Operation {
  /** `POST /api/checkout`: names the operation in events. */
  readonly id: string
  readonly pathParams: readonly PathParam[]
  readonly readers: readonly ParamReader[]
  readonly usesQuery: boolean
  readonly usesCookies: boolean
  /** Query names and deepObject prefixes the operation declares (for `unknownQuery: refuse`). */
  readonly queryNames: ReadonlySet<string>
  readonly queryPrefixes: readonly string[]
  /** The declared query names, lower-cased: another spelling of one is refused. */
  readonly queryFolded: ReadonlySet<string>
  /** Validates the envelope without a body (none sent, or a body with no schema). */
  readonly validate: ValidateFunction | undefined
  /** The documented request body; undefined when there is none (or bodies are not validated). */
  readonly body:
    { readonly required: boolean; readonly media: ReadonlyMap<string, Media> } | undefined
  /** A fake success shaped like the documented one (undefined: not documented as JSON). */
  readonly fake: FakeAnswer | undefined
  /** `validate.credentials`: what a caller must carry (undefined: nothing checked). */
  readonly credentials?: Credentials
}

/** What compiling an operation draws on, shared by every operation of a contract. */
export interface OperationCompiler {
  readonly set: DocumentSet
  readonly spec: ContractSpec
  readonly convert: ReturnType<typeof schemaConverter>
  /** Compiles an envelope schema (identical envelopes share one function). */
  readonly compile: (envelope: Obj, where: Where) => ValidateFunction
}

export interface OperationSource {
  readonly method: string
  readonly template: string
  readonly pathParams: readonly PathParam[]
  readonly item: Obj
  readonly op: Obj
  readonly itemWhere: Where
  readonly opWhere: Where
  readonly version: OpenApiVersion
}

/**
 * @example
 * compileOperation(cx, { method: 'GET', template: '/pets/{id}', pathParams, item, op, itemWhere, opWhere, version: '3.1' })
 */
export function compileOperation(cx: OperationCompiler, src: OperationSource): Operation {
  const { set, spec, convert } = cx
  const { op, opWhere: ow, version } = src
  const sections: Record<Section, { properties: Obj; required: string[] }> = {
    path: { properties: {}, required: [] },
    query: { properties: {}, required: [] },
    header: { properties: {}, required: [] },
    cookie: { properties: {}, required: [] },
  }
  const on: Record<Section, boolean> = {
    path: true,
    query: spec.validate.query,
    header: spec.validate.headers,
    cookie: spec.validate.cookies,
  }
  const readers: ParamReader[] = []
  for (const { p, where } of declaredParameters(set, src)) {
    const section = p.in as Section
    const name = p.name as string
    if (section === 'header' && IGNORED_HEADERS.has(name.toLowerCase())) continue
    if (!on[section]) continue
    let schema = p.schema
    let json = false
    let sw = under(where, 'schema')
    if (schema === undefined && isObj(p.content)) {
      // `content` instead of `schema`: the value is a serialised document (JSON, usually).
      const [type, media] = Object.entries(p.content)[0] ?? []
      if (type !== undefined && isObj(media)) {
        schema = media.schema
        json = isJsonType(type)
        sw = under(where, 'content', type, 'schema')
      }
    }
    if (schema !== undefined) convert(schema, version, sw)
    const style =
      typeof p.style === 'string'
        ? p.style
        : section === 'query' || section === 'cookie'
          ? 'form'
          : 'simple'
    const reader = paramReader({
      name,
      in: section,
      style,
      explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
      json,
      shape: shapeOf(schema, set),
    })
    readers.push(reader)
    sections[section].properties[reader.key] = schema ?? {}
    if (p.required === true || section === 'path') sections[section].required.push(reader.key)
  }

  const envelope = (body: unknown): Obj | undefined => {
    const properties: Obj = {}
    for (const s of Object.keys(sections) as Section[]) {
      const sec = sections[s]
      if (Object.keys(sec.properties).length === 0) continue
      properties[s] = {
        type: 'object',
        properties: sec.properties,
        ...(sec.required.length ? { required: sec.required } : {}),
      }
    }
    if (body !== undefined) properties.body = body
    return Object.keys(properties).length ? { type: 'object', properties } : undefined
  }

  const plain = envelope(undefined)
  const validate = plain ? cx.compile(plain, ow) : undefined
  let body: Operation['body']
  if (op.requestBody !== undefined && spec.validate.body) {
    const { value: rb, where: bw } = follow(set, op.requestBody, under(ow, 'requestBody'))
    if (!isObj(rb) || !isObj(rb.content))
      throw set.error(bw, 'expected a request body with a "content" map')
    const media = new Map<string, Media>()
    for (const [type, m] of Object.entries(rb.content)) {
      const mw = under(bw, 'content', type)
      if (!isObj(m)) throw set.error(mw, 'expected a media type object')
      const range = mediaType(type)
      if (m.schema === undefined) {
        media.set(range, { validate, parsed: false, shape: undefined })
        continue
      }
      convert(m.schema, version, under(mw, 'schema'))
      // A wildcard range (`*/*`) is parsed when the request's own type is JSON or a form.
      const parsed = isJsonType(range) || isFormType(range) || range.endsWith('/*')
      // `unknownFields: refuse`: the body closed to fields its schema (allOf, oneOf parts
      // included) does not declare; `unevaluatedProperties` sees through the composition.
      const schema =
        spec.validate.unknownFields === 'refuse'
          ? { allOf: [m.schema], unevaluatedProperties: false }
          : m.schema
      media.set(range, {
        validate: parsed ? cx.compile(envelope(schema)!, mw) : validate,
        parsed,
        shape: parsed ? shapeOf(m.schema, set) : undefined,
      })
    }
    body = { required: rb.required === true, media }
  }

  const queryReaders = readers.filter((r) => r.section === 'query')
  return {
    id: `${src.method} ${src.template}`,
    pathParams: src.pathParams,
    readers,
    usesQuery: queryReaders.length > 0 || spec.validate.unknownQuery === 'refuse',
    usesCookies: readers.some((r) => r.section === 'cookie'),
    queryNames: new Set(queryReaders.flatMap((r) => r.queryNames)),
    queryPrefixes: queryReaders.flatMap((r) => (r.queryPrefix ? [r.queryPrefix] : [])),
    queryFolded: new Set(queryReaders.flatMap((r) => r.queryNames.map((n) => n.toLowerCase()))),
    validate,
    body,
    fake: fakeAnswer(
      set,
      op,
      ow,
      src.pathParams.flatMap((p) => p.names),
    ),
  }
}

/** The path item's parameters overlaid with the operation's own (same `in` and name: the operation's). */
function declaredParameters(set: DocumentSet, src: OperationSource): { p: Obj; where: Where }[] {
  const declared = new Map<string, { p: Obj; where: Where }>()
  for (const [list, lw] of [
    [src.item.parameters, under(src.itemWhere, 'parameters')],
    [src.op.parameters, under(src.opWhere, 'parameters')],
  ] as const) {
    if (list === undefined) continue
    if (!Array.isArray(list)) throw set.error(lw, 'expected a list of parameters')
    list.forEach((raw, i) => {
      const { value: p, where } = follow(set, raw, under(lw, i))
      if (!isObj(p) || typeof p.name !== 'string' || !isSection(p.in))
        throw set.error(
          where,
          'expected a parameter with a "name" and "in" (path, query, header or cookie)',
        )
      const name = p.in === 'header' ? p.name.toLowerCase() : p.name
      declared.set(`${p.in}:${name}`, { p, where })
    })
  }
  return [...declared.values()]
}

function isSection(v: unknown): v is Section {
  return v === 'path' || v === 'query' || v === 'header' || v === 'cookie'
}
