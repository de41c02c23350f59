/**
 * A fake success shaped like the operation's own documented one: the status of its first 2xx
 * response and a JSON body made from that response's schema — the same fields, types, formats
 * and enums, with fresh values, and the request's path parameters echoed where a field carries
 * them (`GET /accounts/{id}` answers `{"id": <the id asked for>, …}`). A bot that compares a
 * fake with a real answer of the same route sees the same shape (red team 8: the generic
 * `{"success":true}` gave every fake away at the first comparison).
 *
 * Compiled once per operation from the document (at `create()`); an answer walks the compiled
 * tree once and draws from the caller's random source.
 * @see ../../../docs/deception.md#fakes-shaped-like-your-api
 */
import { randomBytes } from 'node:crypto'
import randexpModule from 'randexp'
import type { ShapedFake } from '../../engine/types.js'
import { seededRandom, type Random } from '../deception/random.js'
import { requestBodyFields } from './body-fields.js'
import { follow, isObj, type DocumentSet, type Where } from './documents.js'
import { isJsonType } from './media-type.js'
import { under } from './to-json-schema.js'

type Obj = Record<string, unknown>

export type FakeAnswer = ShapedFake

/** A value generator: what a schema compiles to. */
type Gen = (g: Draw) => unknown

interface Draw {
  readonly random: Random
  readonly now: number
  readonly params: Readonly<Record<string, string>>
}

/** Nesting followed into a schema; deeper (or recursive) parts answer `{}` / `[]`. */
const MAX_DEPTH = 6
/** Most array items a fake holds (fewer when `maxItems` says so). */
const MAX_ITEMS = 3

/**
 * The fake of an operation, or undefined when its success is not documented as JSON (the
 * generic fake is used then).
 * @example
 * fakeAnswer(set, op, where, ['id'])?.body(random, Date.now(), { id: '100002' })
 */
export function fakeAnswer(
  set: DocumentSet,
  op: Obj,
  where: Where,
  pathParams: readonly string[],
): FakeAnswer | undefined {
  try {
    return build(set, op, where, pathParams)
  } catch {
    // A document the validators accept but this reader does not follow (an odd $ref): the
    // generic fake is the fallback, never a load error.
    return undefined
  }
}

function build(
  set: DocumentSet,
  op: Obj,
  where: Where,
  pathParams: readonly string[],
): FakeAnswer | undefined {
  const { value: responses, where: rw } = follow(set, op.responses, under(where, 'responses'))
  if (!isObj(responses)) return undefined
  const code = successCode(Object.keys(responses))
  if (code === undefined) return undefined
  const status = code.endsWith('XX') || code.endsWith('xx') ? 200 : Number(code)
  const { value: response, where: sw } = follow(set, responses[code], under(rw, code))
  if (!isObj(response)) return undefined
  if (status === 204 || status === 205)
    return { status, contentType: 'application/json', body: () => '' }
  // A success documented without its content says nothing about its shape (red team 8's
  // recheck: an empty body with a JSON type gave every fake away): the generic fake.
  if (!isObj(response.content)) return undefined
  const media = Object.entries(response.content).find(([type]) => isJsonType(type))
  if (!media || !isObj(media[1])) return undefined
  const [type, m] = media
  const example = m.example ?? firstExample(m.examples)
  const cx: Cx = {
    set,
    pathParams,
    bodyFields: new Set(requestBodyFields(set, op, where, isJsonType)),
    nodes: 0,
    echoesBody: false,
  }
  const gen =
    m.schema !== undefined
      ? compile(cx, m.schema, under(sw, 'content', type, 'schema'), '', 0)
      : example !== undefined
        ? () => example
        : undefined
  if (!gen) return undefined
  const contentType = type.includes('*') ? 'application/json' : type
  const echoesBody = cx.echoesBody
  // The same resource looks the same each time it is asked for: an answer about a path's ids
  // is drawn from a generator seeded by them (and this process's salt), dated from a fixed
  // moment. Without path parameters (a payment made), every answer is new, as a real one is.
  const keyed = pathParams.length > 0
  const place = where.at.join('/')
  return {
    status,
    contentType,
    ...(echoesBody ? { echoesBody } : {}),
    body: (random, now, params) =>
      JSON.stringify(
        keyed
          ? gen({ random: seededRandom(seedOf(place, pathParams, params)), now: EPOCH, params })
          : gen({ random, now, params }),
      ) ?? '',
  }
}

// randexp is CommonJS (`module.exports = RandExp`); under NodeNext its default import arrives as
// the module object in the types and as the class at run time.
type RandExpClass = typeof randexpModule.default
const RandExp = ((randexpModule as unknown as { default?: RandExpClass }).default ??
  randexpModule) as RandExpClass

/** This process's salt for the per-resource seeds, and the moment keyed fakes are dated from. */
const SALT = randomBytes(4).readUInt32LE(0)
const EPOCH = Date.now()

/** FNV-1a over the operation's place in its document and the path's values, salted. */
function seedOf(
  place: string,
  names: readonly string[],
  params: Readonly<Record<string, string>>,
): number {
  let h = fnv((0x811c9dc5 ^ SALT) >>> 0, place)
  for (const n of names) h = fnv(h, params[n] ?? '')
  return h
}

function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0
  // A separator, so ('ab', 'c') and ('a', 'bc') differ.
  return Math.imul(h ^ 0x2f, 0x01000193) >>> 0
}

/** The lowest documented 2xx status (`200` before `201`; a `2XX` range last). */
function successCode(codes: readonly string[]): string | undefined {
  let best: string | undefined
  for (const c of codes) {
    if (/^2\d\d$/.test(c) && (best === undefined || !/^\d+$/.test(best) || c < best)) best = c
    else if (/^2xx$/i.test(c) && best === undefined) best = c
  }
  return best
}

function firstExample(examples: unknown): unknown {
  if (!isObj(examples)) return undefined
  for (const e of Object.values(examples)) if (isObj(e) && 'value' in e) return e.value
  return undefined
}

/** What compiling one response's schema shares. */
interface Cx {
  readonly set: DocumentSet
  readonly pathParams: readonly string[]
  /** The request body's top-level fields: a response field of the same name echoes them. */
  readonly bodyFields: ReadonlySet<string>
  /** Set when a generator echoes a body field (the answer then needs the request's body). */
  echoesBody: boolean
  /** Generators made so far: a schema that fans out recursively stops at MAX_NODES. */
  nodes: number
}

/** Most generators one fake is made of (wide recursive schemas would otherwise explode). */
const MAX_NODES = 2_000

/** Compiles a schema (followed through `$ref`) into a generator; `name` is the field's name. */
function compile(cx: Cx, raw: unknown, where: Where, name: string, depth: number): Gen {
  if (++cx.nodes > MAX_NODES) return () => null
  const { set, pathParams } = cx
  const { value: schema, where: w } = follow(set, raw, where)
  if (!isObj(schema)) return () => null
  if ('const' in schema) return () => schema.const
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    const values = schema.enum.filter((v) => v !== null)
    const pool = values.length > 0 ? values : schema.enum
    return (g) => pool[Math.floor(g.random() * pool.length)]
  }
  if (Array.isArray(schema.allOf)) return compileAllOf(cx, schema, w, name, depth)
  for (const k of ['oneOf', 'anyOf'] as const) {
    const list = schema[k]
    if (Array.isArray(list) && list.length > 0) {
      // The first alternative that is neither a bare null nor (past the first level) a way
      // back into a schema being made — a `manager: Person | null` ends in null, not `{}`.
      const isNull = (s: unknown) => isObj(s) && s.type === 'null'
      const deep = (s: unknown) => depth > 0 && isObj(s) && typeof s.$ref === 'string'
      let i = list.findIndex((s) => !isNull(s) && !deep(s))
      if (i < 0) i = list.findIndex(isNull)
      if (i < 0) i = 0
      return compile(cx, list[i], under(w, k, i), name, depth)
    }
  }
  const type = typeOf(schema)
  let echo = echoed(name, pathParams)
  // A field the request sent (a transfer's `from`, `to`, `amount`): the fake says it back, as
  // the real answer does. Path parameters win.
  if (echo === undefined && name !== '' && cx.bodyFields.has(name)) {
    echo = `${BODY}${name}`
    cx.echoesBody = true
  }
  switch (type) {
    case 'object': {
      if (depth >= MAX_DEPTH) return () => ({})
      const props = isObj(schema.properties) ? schema.properties : {}
      const fields: [string, Gen][] = []
      for (const [key, sub] of Object.entries(props)) {
        if (isObj(sub) && sub.writeOnly === true) continue
        fields.push([key, compile(cx, sub, under(w, 'properties', key), key, depth + 1)])
      }
      return (g) => {
        const out: Obj = {}
        for (const [key, gen] of fields) out[key] = gen(g)
        return out
      }
    }
    case 'array': {
      if (depth >= MAX_DEPTH || schema.items === undefined) return () => []
      const item = compile(cx, schema.items, under(w, 'items'), singular(name), depth + 1)
      const min = Math.min(typeof schema.minItems === 'number' ? schema.minItems : 1, MAX_ITEMS)
      const max = Math.max(
        min,
        Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : MAX_ITEMS, MAX_ITEMS),
      )
      return (g) => {
        const n = min + Math.floor(g.random() * (max - min + 1))
        const out: unknown[] = []
        for (let i = 0; i < n; i++) out.push(item(g))
        return out
      }
    }
    case 'integer':
    case 'number':
      return numberGen(schema, name, type === 'integer', echo)
    case 'boolean':
      return (g) => g.random() < 0.5
    case 'null':
      return () => null
    default:
      return stringGen(schema, name, echo)
  }
}

function compileAllOf(cx: Cx, schema: Obj, w: Where, name: string, depth: number): Gen {
  const parts = (schema.allOf as unknown[]).map((s, i) =>
    compile(cx, s, under(w, 'allOf', i), name, depth),
  )
  const rest = { ...schema }
  delete rest.allOf
  if (Object.keys(rest).some((k) => k === 'properties' || k === 'type'))
    parts.push(compile(cx, rest, w, name, depth))
  return (g) => {
    let merged: unknown
    for (const p of parts) {
      const v = p(g)
      merged = isObj(v) && isObj(merged) ? { ...merged, ...v } : (merged ?? v)
    }
    return merged
  }
}

/** The schema's type: the first non-null one of a list; guessed from its keywords if absent. */
function typeOf(schema: Obj): string {
  const t = schema.type
  if (typeof t === 'string') return t
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') as string | undefined) ?? 'null'
  if (schema.properties !== undefined) return 'object'
  if (schema.items !== undefined) return 'array'
  return 'string'
}

/** Prefix of a request body field's value among the params an answer is drawn with. */
export const BODY = 'body:'

/** The path parameter a field carries: its own name, or `id` for a lone `…Id` parameter. */
function echoed(name: string, pathParams: readonly string[]): string | undefined {
  if (name === '') return undefined
  const lower = name.toLowerCase()
  for (const p of pathParams) if (p.toLowerCase() === lower) return p
  if (lower === 'id' && pathParams.length === 1 && /id$/i.test(pathParams[0]!)) return pathParams[0]
  return undefined
}

const ID_NAME = /(^id$|_id$|Id$|^uuid$|_uuid$|Uuid$)/
const MONEY_NAME = /(amount|price|balance|total|cost|fee|sum)/i
const COUNT_NAME = /(count|quantity|qty|stock|size|number)$/i
/** Lifetimes in seconds (`expires_in: 3600`), not just any number. */
const LIFETIME_NAME = /^(expires_?in|expiresIn|ttl|max_?age|maxAge)$/i
/** Credentials a sign-in answers with: token-shaped, never a word ("access_token": "north"). */
const TOKEN_NAME = /(token|jwt|secret|nonce|signature|session_?id|sessionId)$/i
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function numberGen(schema: Obj, name: string, integer: boolean, echo: string | undefined): Gen {
  let lo = typeof schema.minimum === 'number' ? schema.minimum : undefined
  let hi = typeof schema.maximum === 'number' ? schema.maximum : undefined
  if (typeof schema.exclusiveMinimum === 'number')
    lo = schema.exclusiveMinimum + (integer ? 1 : 0.01)
  if (typeof schema.exclusiveMaximum === 'number')
    hi = schema.exclusiveMaximum - (integer ? 1 : 0.01)
  if (LIFETIME_NAME.test(name) && lo === undefined && hi === undefined)
    return (g) => pick(g, [900, 1800, 3600, 3600, 7200, 86_400])
  const [dlo, dhi] = ID_NAME.test(name)
    ? [10_000, 9_999_999]
    : MONEY_NAME.test(name)
      ? [100, 250_000]
      : COUNT_NAME.test(name)
        ? [0, 40]
        : [0, 100]
  const min = lo ?? (hi !== undefined ? Math.min(dlo, hi) : dlo)
  const max = hi ?? Math.max(min, dhi)
  return (g) => {
    if (echo !== undefined) {
      const v = Number(g.params[echo])
      if (Number.isFinite(v) && (!integer || Number.isInteger(v))) return v
    }
    const x = min + g.random() * (max - min)
    return integer ? Math.round(x) : Math.round(x * 100) / 100
  }
}

const FIRST = [
  'Anna',
  'Ben',
  'Chloe',
  'David',
  'Emma',
  'Felix',
  'Grace',
  'Hugo',
  'Iris',
  'Jonas',
  'Lena',
  'Marco',
  'Nora',
  'Omar',
  'Paula',
  'Ravi',
  'Sara',
  'Tom',
  'Yuki',
  'Zoe',
]
const LAST = [
  'Berg',
  'Costa',
  'Dubois',
  'Fischer',
  'Garcia',
  'Hansen',
  'Ito',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Martin',
  'Novak',
  'Okafor',
  'Petrov',
  'Rossi',
  'Schmidt',
  'Silva',
  'Weber',
]
const WORDS = [
  'active',
  'pending',
  'standard',
  'default',
  'primary',
  'basic',
  'north',
  'silver',
  'classic',
  'daily',
  'open',
  'united',
  'green',
  'prime',
]
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'
/** `{"alg":"RS256","typ":"JWT"}`, base64url. */
const JWT_HEAD = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9'
const HEX = '0123456789abcdef'

function pick<T>(g: Draw, list: readonly T[]): T {
  return list[Math.floor(g.random() * list.length)]!
}

function chars(g: Draw, alphabet: string, n: number): string {
  let out = ''
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(g.random() * alphabet.length)]
  return out
}

function uuid(g: Draw): string {
  const h = chars(g, HEX, 32)
  const variant = HEX[8 + Math.floor(g.random() * 4)]
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`
}

function stringGen(schema: Obj, name: string, echo: string | undefined): Gen {
  const format = typeof schema.format === 'string' ? schema.format : ''
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity
  const fit = (s: string): string =>
    s.length > maxLength
      ? s.slice(0, maxLength)
      : s.length < minLength
        ? s.padEnd(minLength, '0')
        : s
  const pattern = patterned(schema)
  const plain = baseString(format, name, schema)
  const re = pattern === undefined ? undefined : patternOf(schema)
  return (g) => {
    if (echo !== undefined) {
      const v = g.params[echo]
      if (v !== undefined) return v
    }
    const value = fit(plain(g) as string)
    // The plain value (a name, an e-mail) when the pattern allows it, else one drawn from it.
    if (re === undefined || re.test(value)) return value
    const s = pattern!(g) as string | undefined
    return s !== undefined && s.length >= minLength && s.length <= maxLength ? s : value
  }
}

function baseString(format: string, name: string, schema: Obj): Gen {
  switch (format) {
    case 'uuid':
      return uuid
    case 'date-time':
      return (g) => new Date(g.now - Math.floor(g.random() * 30 * 86_400_000)).toISOString()
    case 'date':
      return (g) =>
        new Date(g.now - Math.floor(g.random() * 365 * 86_400_000)).toISOString().slice(0, 10)
    case 'email':
      return (g) =>
        `${pick(g, FIRST).toLowerCase()}.${pick(g, LAST).toLowerCase()}@${pick(g, ['mail.com', 'example.org', 'inbox.net'])}`
    case 'uri':
    case 'url':
      return (g) => `https://example.com/${chars(g, ALNUM, 10)}`
    case 'ipv4':
      return (g) =>
        `10.${Math.floor(g.random() * 256)}.${Math.floor(g.random() * 256)}.${1 + Math.floor(g.random() * 254)}`
    case 'hostname':
      return (g) => `${chars(g, ALNUM, 8)}.example.com`
  }
  const lower = name.toLowerCase()
  if (ID_NAME.test(name)) return (g) => chars(g, ALNUM, 16)
  if (lower === 'token_type' || lower === 'tokentype') return () => 'Bearer'
  if (TOKEN_NAME.test(name))
    // Access and ID tokens are JWTs more often than not: three base64url parts, the header
    // one a real one; other tokens an opaque 43-character string.
    return /access|id_?token|jwt/i.test(name)
      ? (g) => `${JWT_HEAD}.${chars(g, B64URL, 120)}.${chars(g, B64URL, 43)}`
      : (g) => chars(g, B64URL, 43)
  if (lower === 'username' || lower === 'login' || lower === 'handle' || lower === 'user')
    return (g) => `${pick(g, FIRST).toLowerCase()}.${pick(g, LAST).toLowerCase()}`
  if (lower === 'name' || lower.endsWith('name') || lower === 'holder' || lower === 'owner')
    return (g) => `${pick(g, FIRST)} ${pick(g, LAST)}`
  if (lower.includes('email')) return baseString('email', '', schema)
  if (/(At|_at)$/.test(name) || lower.includes('date') || lower.endsWith('time'))
    return baseString('date-time', '', schema)
  if (typeof schema.example === 'string') {
    const example = schema.example
    // An example with a number in it (an IBAN, an order reference): its digits drawn afresh.
    if ((example.match(/[0-9]/g)?.length ?? 0) >= 3)
      return (g) => example.replace(/[0-9]/g, () => String(Math.floor(g.random() * 10)))
    return () => example
  }
  if (lower.includes('currency')) return (g) => pick(g, ['EUR', 'USD', 'GBP'])
  return (g) => pick(g, WORDS)
}

/**
 * A string schema's `pattern`, as a generator of strings matching it (randexp), or undefined
 * when there is none or it cannot be followed. Each draw is checked against the pattern (and
 * falls back to the plain generator when it misses, e.g. a lookahead randexp ignores).
 */
function patternOf(schema: Obj): RegExp | undefined {
  try {
    return new RegExp(schema.pattern as string, 'u')
  } catch {
    return undefined
  }
}

function patterned(schema: Obj): Gen | undefined {
  if (typeof schema.pattern !== 'string') return undefined
  let re: RegExp
  let gen: InstanceType<RandExpClass>
  try {
    re = new RegExp(schema.pattern, 'u')
    gen = new RandExp(re)
  } catch {
    return undefined
  }
  gen.max = 4
  return (g) => {
    gen.randInt = (a, b) => a + Math.floor(g.random() * (b - a + 1))
    try {
      const s = gen.gen()
      if (re.test(s)) return s
    } catch {
      // Nothing drawn: the plain generator's value (below).
    }
    return undefined
  }
}

/** `items` → `item`, so an array's elements are named like one of them (`ids` → `id`). */
function singular(name: string): string {
  return name.endsWith('s') ? name.slice(0, -1) : name
}
