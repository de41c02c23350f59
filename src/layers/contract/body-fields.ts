/**
 * The top-level fields an operation's request body declares, read from the document: for
 * `bulwark init` (which field names the account, which takes a code) and for fakes (which
 * response fields say back what was sent). `allOf`, `oneOf` and `anyOf` parts count.
 */
import { follow, isObj, type DocumentSet, type Where } from './documents.js'
import { under } from './to-json-schema.js'

type Obj = Record<string, unknown>

/** Nesting of compositions followed (a recursive schema stops here). */
const MAX_DEPTH = 8

/**
 * The field names, in document order, of the media types `accepts` takes (by content type).
 * @example
 * requestBodyFields(set, op, where, isJsonType) // ['from', 'to', 'amount']
 */
export function requestBodyFields(
  set: DocumentSet,
  op: Obj,
  where: Where,
  accepts: (contentType: string) => boolean,
): string[] {
  const out = new Set<string>()
  const { value: body, where: bw } = follow(set, op.requestBody, under(where, 'requestBody'))
  if (!isObj(body) || !isObj(body.content)) return []
  for (const [type, media] of Object.entries(body.content))
    if (accepts(type) && isObj(media))
      collect(set, media.schema, under(bw, 'content', type, 'schema'), out, 0)
  return [...out]
}

function collect(set: DocumentSet, raw: unknown, where: Where, out: Set<string>, depth: number) {
  if (depth > MAX_DEPTH) return
  const { value: schema, where: w } = follow(set, raw, where)
  if (!isObj(schema)) return
  if (isObj(schema.properties)) for (const k of Object.keys(schema.properties)) out.add(k)
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
    const list = schema[key]
    if (Array.isArray(list))
      list.forEach((s, i) => collect(set, s, under(w, key, i), out, depth + 1))
  }
}
