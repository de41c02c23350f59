/**
 * The canonical body: parsed once, for every layer that inspects it, and refused when the
 * gateway and the backend could read it differently (duplicate JSON keys, a content type that
 * does not match the body, a field of the wrong type). The upstream receives the same bytes.
 * @see ../../README.md#bodies
 */
import { isExactNumber } from './number.js'
import type { RequestBody, RequestContext } from '../engine/types.js'

export type BodyFields =
  | {
      readonly ok: true
      readonly kind: 'json' | 'form' | 'multipart' | 'empty'
      /** A top-level field: a JSON object's member, or a form field (AMBIGUOUS when repeated). */
      get(field: string): unknown
      /**
       * The whole parsed JSON document (`kind: 'json'` only), for layers that validate the body
       * as a whole (the contract). Shared by every layer: read it, never change it.
       */
      readonly value?: unknown
      /** Every form or multipart field in body order, repeats included (files as `{ file }`). */
      entries?(): readonly (readonly [string, unknown])[]
    }
  | { readonly ok: false; readonly reason: string }

const EMPTY: BodyFields = Object.freeze({ ok: true, kind: 'empty', get: () => undefined })
const CACHE = 'bulwark.body.fields'

/**
 * Parses the context's body once per request (cached on ctx.locals). Resolves `{ ok: false }`
 * for a body that must be refused.
 */
export async function bodyFields(ctx: RequestContext): Promise<BodyFields> {
  const cached = ctx.local(CACHE) as Promise<BodyFields> | undefined
  if (cached) return cached
  const p = Promise.resolve(ctx.body()).then((b) => (b ? parseBody(b) : EMPTY))
  ctx.locals.set(CACHE, p)
  return p
}

export async function parseBody(body: RequestBody): Promise<BodyFields> {
  if (body.bytes.length === 0) return EMPTY
  // The gateway reads bodies as sent; decompressing them would hand bombs to every layer.
  if (body.encoding !== undefined)
    return {
      ok: false,
      reason: `a body with Content-Encoding ${body.encoding} cannot be inspected: send it uncompressed`,
    }
  // JSON is UTF-8 (RFC 8259 §8.1) and the gateway reads forms as UTF-8: a body declared in
  // another charset (utf-16, shift_jis) could be decoded otherwise by the backend.
  const charset = charsetOf(body.rawContentType)
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii')
    return {
      ok: false,
      reason: `a body in charset ${charset} cannot be inspected as the backend may read it: send UTF-8 (charset=utf-8, or none)`,
    }
  switch (body.contentType) {
    case 'application/json':
    case 'application/merge-patch+json':
    case 'application/problem+json':
      return parseJson(body.bytes)
    case 'application/x-www-form-urlencoded':
      return parseForm(body.bytes)
    case 'multipart/form-data':
      return parseMultipart(body)
    case '':
      return { ok: false, reason: 'a body without a Content-Type' }
    default:
      if (body.contentType.endsWith('+json')) return parseJson(body.bytes)
      return { ok: false, reason: `a ${body.contentType} body cannot be inspected` }
  }
}

/** The `charset` parameter of a Content-Type, lower case; undefined when there is none. */
function charsetOf(type: string | undefined): string | undefined {
  if (type === undefined || type.indexOf(';') < 0) return undefined
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(type)
  return m ? (m[1] ?? m[2] ?? '').toLowerCase() : undefined
}

function parseJson(bytes: Buffer): BodyFields {
  // RFC 8259 §8.1: a BOM must not be sent. Some parsers skip it, JSON.parse in most backends
  // refuses it: the gateway and the backend would not read the same body.
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return { ok: false, reason: 'JSON body starts with a byte-order mark (RFC 8259 §8.1)' }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { ok: false, reason: 'JSON body is not valid UTF-8' }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'body is not valid JSON (Content-Type says it is)' }
  }
  const problem = ambiguity(text)
  if (problem !== undefined) return { ok: false, reason: problem }
  const obj =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  return {
    ok: true,
    kind: 'json',
    get: (f) => (obj && Object.hasOwn(obj, f) ? obj[f] : undefined),
    value,
  }
}

function parseForm(bytes: Buffer): BodyFields {
  const text = bytes.toString('latin1')
  if (/^\s*[{[]/.test(text))
    return { ok: false, reason: 'body looks like JSON but Content-Type says form' }
  const params = new URLSearchParams(text)
  return fieldsOf(
    'form',
    (f) => params.getAll(f),
    () => [...params],
  )
}

async function parseMultipart(body: RequestBody): Promise<BodyFields> {
  let form: FormData
  try {
    // undici's multipart parser (Node's fetch), fed the very bytes that go upstream.
    const headers = { 'content-type': body.rawContentType ?? body.contentType }
    form = await new Response(body.bytes, { headers }).formData()
  } catch {
    return { ok: false, reason: 'multipart body does not parse' }
  }
  const part = (v: string | { readonly name: string }) =>
    typeof v === 'string' ? v : { file: v.name }
  return fieldsOf(
    'multipart',
    (f) => form.getAll(f).map(part),
    () => [...form].map(([k, v]) => [k, part(v)] as const),
  )
}

/** A field given twice is ambiguous (first or last wins, depending on the backend): refuse it. */
function fieldsOf(
  kind: 'form' | 'multipart',
  all: (f: string) => unknown[],
  entries: () => readonly (readonly [string, unknown])[],
): BodyFields {
  return {
    ok: true,
    kind,
    entries,
    get(f) {
      const values = all(f)
      if (values.length === 0) return undefined
      if (values.length > 1) return AMBIGUOUS
      return values[0]
    },
  }
}

/** Returned by `get` for a form field given more than once. */
export const AMBIGUOUS: unique symbol = Symbol('ambiguous field')

/** Characters that continue a JSON number: digits, `.`, `e`, `E`, `+`, `-`. */
const NUMBER_CHAR = new Uint8Array(128)
for (const ch of '0123456789.eE+-') NUMBER_CHAR[ch.charCodeAt(0)] = 1

/**
 * Why parsers could read this JSON differently, or undefined: a key that appears twice in one
 * object (keys compared after unescaping: `"a"` and `"\u0061"` are the same key), or a number
 * with more digits than a double keeps (request/number.ts). Runs over text that JSON.parse
 * already accepted, so it only tracks strings, numbers, nesting and object keys.
 */
export function ambiguity(text: string): string | undefined {
  const stack: (Set<string> | null)[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      // A number (outside strings, which are skipped whole): read as it will be everywhere?
      let j = i + 1
      let exponent = false
      for (let d: number; j < text.length && NUMBER_CHAR[(d = text.charCodeAt(j))] === 1; j++)
        if ((d | 0x20) === 0x65 /* e or E */) exponent = true
      if (j - i > 16 || exponent) {
        const literal = text.slice(i, j)
        if (!isExactNumber(literal))
          return `JSON body has the number ${literal}, which parsers read as different values (more digits, or a larger or smaller exponent, than a double keeps)`
      }
      i = j - 1
    } else if (c === 0x22 /* " */) {
      let j = i + 1
      let escaped = false
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j)
        if (d === 0x5c) {
          j++
          escaped = true
        } else if (d === 0x22) break
      }
      const top = stack[stack.length - 1]
      if (expectKey && top) {
        const raw = text.slice(i, j + 1)
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1)
        if (top.has(key))
          return `JSON body has the key ${JSON.stringify(key)} twice (parsers disagree on which one counts)`
        top.add(key)
        expectKey = false
      }
      i = j
    } else if (c === 0x7b /* { */) {
      stack.push(new Set())
      expectKey = true
    } else if (c === 0x5b /* [ */) stack.push(null)
    else if (c === 0x7d || c === 0x5d) stack.pop()
    else if (c === 0x2c /* , */) expectKey = stack[stack.length - 1] != null
  }
  return undefined
}
