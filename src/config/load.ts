/**
 * Turns a config file into a validated, deep-frozen value, or into one {@link ConfigError} that
 * names the file, line, key path and a fix for every problem found. It works against any zod
 * schema: `schema.ts` decides what a config is, this file decides how its problems read.
 * Called by the CLI and by reload (a failed reload keeps the old engine).
 *
 * The steps, each with its own error code: read (`ERR_CONFIG_UNREADABLE`), parse YAML or JSON
 * (`ERR_CONFIG_PARSE`), interpolate `${NAME}` (`ERR_CONFIG_ENV`), validate (`ERR_CONFIG_INVALID`).
 * @see ../../docs/errors.md
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import {
  isAlias,
  isCollection,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type YAMLError,
} from 'yaml'
import { z } from 'zod'
import { ConfigError, formatIssue, type ConfigIssue } from '../errors.js'
import { deepFreeze } from './freeze.js'

type Path = readonly PropertyKey[]
type Issue = z.core.$ZodIssue
type Schema = z.core.$ZodType

/** A parsed file: the YAML tree (JSON is YAML 1.2) and what is needed to name lines in it. */
interface Source {
  readonly file: string
  readonly doc: Document
  readonly lines: LineCounter
}

/**
 * Reads `file` and parses it with {@link parseConfig}.
 * @throws {ConfigError} `ERR_CONFIG_UNREADABLE` when the file cannot be read, else as parseConfig.
 * @example const config = await loadConfig('bulwark.yaml', BulwarkConfig)
 */
export async function loadConfig<T>(
  file: string,
  schema: z.ZodType<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    // Node's message ends with the syscall and path ("…, open 'x'"); the file is named already.
    const reason = err instanceof Error ? err.message.split(', ')[0] : String(err)
    const message = `cannot read file (${reason})`
    throw new ConfigError('ERR_CONFIG_UNREADABLE', [{ file, path: '', message }], { cause: err })
  }
  return parseConfig(text, file, schema, env)
}

/**
 * Parses YAML or JSON `text`, fills in `${NAME}`, `${NAME:-default}` (and `$${` for a literal
 * `${`) from `env`, validates it against `schema` and returns the result deep-frozen. `file` only
 * names the source in messages. The schema must be synchronous.
 *
 * An unquoted value that is only `${NAME}` becomes a number or boolean when the variable holds
 * one (`port: ${PORT}`), as if it had been written there; quote it to keep a string.
 * @throws {ConfigError} `ERR_CONFIG_PARSE`, `ERR_CONFIG_ENV` or `ERR_CONFIG_INVALID`, listing
 * every problem as `file:line path: message (hint)`.
 * @example parseConfig('mode: monitor\n', 'bulwark.yaml', BulwarkConfig)
 */
export function parseConfig<T>(
  text: string,
  file: string,
  schema: z.ZodType<T>,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const src = parse(text, file)
  if (src.doc.contents === null) {
    const message = 'expected a config object, got an empty file'
    throw new ConfigError('ERR_CONFIG_INVALID', [{ file, path: '', message }])
  }
  interpolate(src, env)
  let data: unknown
  try {
    data = src.doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    // Only alias bombs get here: unknown aliases were caught with their line in parse().
    const message = err instanceof Error ? err.message : String(err)
    throw new ConfigError('ERR_CONFIG_PARSE', [{ file, path: '', message }], { cause: err })
  }
  // Our messages come from the issue and the schema after parsing; the marker tells them apart
  // from a schema's own messages (refine, check, units.ts), which win over a parse-level map.
  const result = schema.safeParse(data, { error: () => DEFAULT })
  if (!result.success) {
    const ctx: Context = { src, schema, data }
    const issues = result.error.issues.flatMap((issue) => explain(issue, ctx, []))
    throw new ConfigError('ERR_CONFIG_INVALID', byLine(issues))
  }
  return deepFreeze(result.data)
}

/**
 * Issues found after loading (the engine's config checks know key paths, not lines) with the
 * line of each path in the config file filled in; as they are when the file cannot be read or
 * is not YAML (a config given as an object has no file).
 */
export function withLines(issues: readonly ConfigIssue[], file: string | undefined): ConfigIssue[] {
  if (file === undefined || issues.every((i) => i.line !== undefined || i.path === ''))
    return [...issues]
  let src: Source
  try {
    src = parse(readFileSync(file, 'utf8'), file)
  } catch {
    return [...issues]
  }
  return issues.map((i) => {
    if (i.line !== undefined || i.path === '') return i
    const line = valueLine(src, parsePath(i.path))
    return line === undefined ? i : { ...i, line }
  })
}

/** `limits.rules[2].window` → ['limits', 'rules', 2, 'window'] (the inverse of formatPath). */
function parsePath(text: string): Path {
  const out: (string | number)[] = []
  for (const m of text.matchAll(/(?:^|\.)([A-Za-z_][\w-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    if (m[1] !== undefined) out.push(m[1])
    else if (m[2] !== undefined) out.push(Number(m[2]))
    else out.push(JSON.parse(m[3]!) as string)
  }
  return out
}

// ——— Parsing ——————————————————————————————————————————————————————————————————————————————

function parse(text: string, file: string): Source {
  const lines = new LineCounter()
  const line = (e: YAMLError) => lines.linePos(e.pos[0]).line
  // Duplicate keys are found below, with their path and both lines; yaml's check names neither.
  const options = { lineCounter: lines, uniqueKeys: false, merge: true, prettyErrors: false }
  const doc = parseDocument(text, options)
  const src: Source = { file, doc, lines }
  // A syntax error often sets off more on the same line; the first one says it.
  const errors = doc.errors.filter((e, n) => doc.errors.findIndex((f) => line(f) === line(e)) === n)
  const issues: ConfigIssue[] = errors.map((e) => ({
    file,
    line: line(e),
    path: '',
    message: e.message.charAt(0).toLowerCase() + e.message.slice(1),
    hint: `at column ${lines.linePos(e.pos[0]).col}`,
  }))
  walk(doc.contents, [], (node, path) => {
    if (isMap(node)) {
      const first = new Map<string, number>()
      for (const { key } of node.items) {
        const name = keyName(key)
        const line = lineOf(src, key)
        const seen = first.get(name)
        if (seen === undefined) first.set(name, line ?? 0)
        else
          issues.push(at(src, line, path, `duplicate key "${name}"`, `first set on line ${seen}`))
      }
    } else if (isAlias(node) && !node.resolve(doc)) {
      const hint = `set &${node.source} on an earlier value`
      issues.push(at(src, lineOf(src, node), path, `unknown alias *${node.source}`, hint))
    }
  })
  if (issues.length > 0) throw new ConfigError('ERR_CONFIG_PARSE', byLine(issues))
  return src
}

/** Calls `visit` on every value node (not keys) with its key path; aliases are not followed. */
function walk(node: unknown, path: Path, visit: (node: unknown, path: Path) => void): void {
  if (!isNode(node)) return
  visit(node, path)
  if (isMap(node)) for (const p of node.items) walk(p.value, [...path, keyName(p.key)], visit)
  else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i], visit))
}

function keyName(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key)
}

// ——— Environment ——————————————————————————————————————————————————————————————————————————

// `$${` first so an escaped reference is never read as one; the last branch catches typos.
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/

/** Replaces `${NAME}` references in string values, in place, or throws `ERR_CONFIG_ENV`. */
function interpolate(src: Source, env: NodeJS.ProcessEnv): void {
  const issues: ConfigIssue[] = []
  walk(src.doc.contents, [], (node, path) => {
    if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${')) return
    const line = lineOf(src, node)
    const original = node.value
    let whole: string | undefined
    node.value = original.replace(REFERENCE, (ref, name?: string, fallback?: string) => {
      if (ref === '$${') return '${'
      if (name === undefined) {
        const hint = 'write ${NAME} or ${NAME:-default}, and $${ for a literal ${'
        issues.push(at(src, line, path, `invalid reference ${JSON.stringify(ref)}`, hint))
        return ref
      }
      // Shell semantics: `:-` also replaces an empty value.
      const value = fallback !== undefined && !env[name] ? fallback : env[name]
      if (value === undefined) {
        const message = `environment variable ${name} is not set`
        issues.push(at(src, line, path, message, `set it, or write \${${name}:-default}`))
        return ref
      }
      if (ref === original) whole = value
      return value
    })
    if (whole !== undefined && node.type === 'PLAIN') {
      if (NUMBER.test(whole)) node.value = Number(whole)
      else if (whole === 'true' || whole === 'false') node.value = whole === 'true'
    }
  })
  if (issues.length > 0) throw new ConfigError('ERR_CONFIG_ENV', byLine(issues))
}

// ——— Validation issues ————————————————————————————————————————————————————————————————————

const DEFAULT = '\u0000bulwark:default-message'

interface Context {
  readonly src: Source
  readonly schema: Schema
  readonly data: unknown
}

/** Where an issue points: its full path, the value found there, and whether the key exists. */
interface Place extends Context {
  readonly path: Path
  readonly value: unknown
  readonly present: boolean
}

/** What one issue says: `expected …, got …` in parts (so unions can merge them), or whole. */
type Said = { expected: string; got?: string; hint?: string } | { message: string; hint?: string }

/** One or more ConfigIssues for a zod issue whose path is relative to `prefix`. */
function explain(issue: Issue, ctx: Context, prefix: Path): ConfigIssue[] {
  const path = [...prefix, ...issue.path]
  const { value, present } = lookup(ctx.data, path)
  const place: Place = { ...ctx, path, value, present }
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownKey(key, place))
  if (!present && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    const options = 'options' in issue ? issue.options : undefined
    return [report(place, { message: 'is required', hint: options && oneOf(options) })]
  }
  if (issue.message !== DEFAULT) return [report(place, { message: issue.message })]
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    return union(issue.errors, place)
  }
  return [report(place, say(issue, place))]
}

function say(issue: Issue, place: Place): Said {
  return (describers[issue.code] as (issue: Issue, place: Place) => Said)(issue, place)
}

function report(place: Place, said: Said): ConfigIssue {
  const message =
    'message' in said
      ? said.message
      : `expected ${said.expected}, got ${said.got ?? show(place.value)}`
  return at(place.src, valueLine(place.src, place.path), place.path, message, said.hint)
}

function unknownKey(key: string, place: Place): ConfigIssue {
  const allowed = allowedKeys(place.schema, place.data, place.path)
  const guess = closest(key, allowed)
  const hint = guess ? `did you mean "${guess}"?` : `allowed keys: ${allowed.join(', ')}`
  const line = keyLine(place.src, place.path, key) ?? valueLine(place.src, place.path)
  return at(place.src, line, place.path, `unknown key "${key}"`, allowed.length ? hint : undefined)
}

/**
 * No branch of a union matched. If some branch got past the value's type (it is an object, and
 * that branch takes objects), its complaints are the useful ones; otherwise say what any branch
 * would have taken: `expected a string or an object, got 42`.
 */
function union(branches: readonly (readonly Issue[])[], place: Place): ConfigIssue[] {
  // A branch got past the type when none of its complaints is about the value's own type (an
  // object with an unknown key, a string a check refused).
  const deeper = branches.filter((b) =>
    b.every((i) => i.path.length > 0 || (i.code !== 'invalid_type' && i.code !== 'invalid_union')),
  )
  if (deeper.length > 0) {
    const fewest = deeper.reduce((a, b) => (b.length < a.length ? b : a))
    return fewest.flatMap((issue) => explain(issue, place, place.path))
  }
  const expected = branches.map((b) => {
    const said = b.length === 1 && b[0].message === DEFAULT ? say(b[0], place) : undefined
    return said && 'expected' in said ? said.expected : undefined
  })
  if (expected.some((e) => e === undefined)) return explain(branches[0][0], place, place.path)
  return [report(place, { expected: [...new Set(expected)].join(' or ') })]
}

// One small function per zod issue code. Each says what was expected; `got` defaults to the
// value as written in the file.
const describers: { [C in Issue['code']]: (issue: Extract<Issue, { code: C }>, p: Place) => Said } =
  {
    invalid_type: (issue, p) => {
      if (issue.expected === 'never') return { message: 'is not allowed' }
      if (issue.expected === 'nonoptional') return { message: 'is required' }
      const quote =
        issue.expected === 'string' && (typeof p.value === 'number' || typeof p.value === 'boolean')
      const int = issue.expected === 'number' && isInteger('number', p)
      return {
        expected: int ? 'an integer' : (TYPES[issue.expected] ?? `a ${issue.expected}`),
        hint: quote ? 'quote the value to keep it a string' : undefined,
      }
    },
    too_small: (issue, p) => bound(issue.origin, issue.minimum, 'min', issue, p),
    too_big: (issue, p) => bound(issue.origin, issue.maximum, 'max', issue, p),
    invalid_format: (issue) => {
      const f = issue as z.core.$ZodStringFormatIssues
      if (f.format === 'regex') return { expected: `a string matching ${f.pattern}` }
      if (f.format === 'starts_with') return { expected: `a string starting with "${f.prefix}"` }
      if (f.format === 'ends_with') return { expected: `a string ending with "${f.suffix}"` }
      if (f.format === 'includes') return { expected: `a string containing "${f.includes}"` }
      return { expected: FORMATS[issue.format] ?? `a valid ${issue.format}` }
    },
    not_multiple_of: (issue) => ({ expected: `a multiple of ${issue.divisor}` }),
    invalid_value: (issue, p) => ({
      expected: oneOf(issue.values),
      hint: suggest(p.value, issue.values),
    }),
    // A discriminated union whose discriminator matched nothing; other unions go to union().
    invalid_union: (issue, p) =>
      'options' in issue && issue.options
        ? { expected: oneOf(issue.options), hint: suggest(p.value, issue.options) }
        : { message: 'matches none of the allowed forms' },
    unrecognized_keys: (issue) => ({ message: `unknown keys ${oneOf(issue.keys)}` }),
    invalid_key: (issue, p) => {
      const inner = issue.issues[0]
      const key = p.path[p.path.length - 1]
      const said = inner && inner.message === DEFAULT ? say(inner, { ...p, value: key }) : undefined
      const why = said && 'expected' in said ? `expected ${said.expected}` : inner?.message
      return { message: 'is not an allowed key', hint: why }
    },
    invalid_element: () => ({ message: 'has an invalid element' }),
    custom: () => ({ message: 'is invalid' }),
  }

const TYPES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  bigint: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
  tuple: 'a list',
  null: 'null',
  undefined: 'nothing',
  date: 'a date',
}

const FORMATS: Readonly<Record<string, string>> = {
  url: 'a URL',
  email: 'an email address',
  uuid: 'a UUID',
  guid: 'a GUID',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  cidrv4: 'an IPv4 CIDR range',
  cidrv6: 'an IPv6 CIDR range',
  hostname: 'a hostname',
  datetime: 'an ISO 8601 date-time',
  date: 'an ISO 8601 date',
  time: 'an ISO 8601 time',
  duration: 'an ISO 8601 duration',
  base64: 'a base64 string',
  base64url: 'a base64url string',
  jwt: 'a JWT',
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list'
  if (typeof v === 'object' && v !== null) return 'an object'
  if (typeof v !== 'string') return String(v)
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v) ?? String(v))
  return shown.length === 1 ? shown[0] : `one of ${shown.join(' | ')}`
}

function suggest(value: unknown, values: readonly unknown[]): string | undefined {
  if (typeof value !== 'string') return undefined
  const guess = closest(
    value,
    values.filter((v): v is string => typeof v === 'string'),
  )
  return guess === undefined ? undefined : `did you mean "${guess}"?`
}

/** too_small and too_big: `a positive integer`, `a number < 1`, `a list of at least 2 items`. */
function bound(
  origin: string,
  n: number | bigint,
  side: 'min' | 'max',
  { inclusive, exact }: { inclusive?: boolean; exact?: boolean },
  p: Place,
): Said {
  const op = side === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'
  if (origin === 'number' || origin === 'int' || origin === 'bigint') {
    const noun = isInteger(origin, p) ? 'integer' : 'number'
    if (side === 'min' && n === 0)
      return { expected: `a ${inclusive ? 'non-negative' : 'positive'} ${noun}` }
    if (side === 'min' && n === 1 && inclusive && noun === 'integer')
      return { expected: 'a positive integer' }
    return { expected: `${article(noun)} ${op} ${n}` }
  }
  if (origin !== 'string' && origin !== 'array' && origin !== 'set') {
    return { expected: `${article(origin)} ${op} ${n}` }
  }
  const [kind, unit] = origin === 'string' ? ['string', 'character'] : ['list', 'item']
  if (side === 'min' && n === 1 && !exact) {
    return { expected: `a non-empty ${kind}`, got: kind === 'list' ? 'an empty list' : undefined }
  }
  const within = exact ? 'exactly' : side === 'min' ? 'at least' : 'at most'
  // A string that is too short is shown; one too long, or a list, is counted.
  const shown = kind === 'string' && side === 'min'
  return {
    expected: `a ${kind} of ${within} ${count(n, unit)}`,
    got: shown ? undefined : count(size(p.value), unit),
  }
}

function article(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`
}

function count(n: number | bigint, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function size(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length
  return v instanceof Set ? v.size : 0
}

function isInteger(origin: string, p: Place): boolean {
  if (origin !== 'number') return true
  return schemasAt(p.schema, p.data, p.path).some((s) => s instanceof z.ZodNumber && s.isInt)
}

// ——— Did you mean ——————————————————————————————————————————————————————————————————————————

/**
 * The allowed word closest to `word`: the same but for case, a prefix either way (3+ letters),
 * or within Levenshtein distance 2 (1 for words of 3 letters or fewer).
 */
function closest(word: string, allowed: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  let best: string | undefined
  let bestScore = Infinity
  for (const candidate of allowed) {
    const c = candidate.toLowerCase()
    const d = levenshtein(w, c)
    const near = d <= (Math.max(w.length, c.length) <= 3 ? 1 : 2)
    const prefix = Math.min(w.length, c.length) >= 3 && (c.startsWith(w) || w.startsWith(c))
    const score = near ? d : prefix ? 3 : Infinity
    if (score < bestScore) [best, bestScore] = [candidate, score]
  }
  return best
}

function levenshtein(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, substitution)
    }
    row = next
  }
  return row[b.length]
}

// ——— Walking the schema ————————————————————————————————————————————————————————————————————

/** Keys the object schemas at `path` allow, in schema order. */
function allowedKeys(schema: Schema, data: unknown, path: Path): string[] {
  const keys = schemasAt(schema, data, path).flatMap((s) => {
    const def = (s as z.core.$ZodTypes)._zod.def
    return def.type === 'object' ? Object.keys(def.shape) : []
  })
  return [...new Set(keys)]
}

/**
 * The schemas a value at `path` is checked against, seen through optionals, defaults, pipes,
 * lazies and unions. `data` picks a discriminated union's branch, as zod itself does.
 */
function schemasAt(schema: Schema, data: unknown, path: Path): Schema[] {
  let schemas = unwrap(schema, data)
  let value = data
  for (const key of path) {
    value = lookup(value, [key]).value
    schemas = schemas.flatMap((s) => unwrap(member(s, key), value))
  }
  return schemas
}

function member(schema: Schema, key: PropertyKey): Schema | undefined {
  const def = (schema as z.core.$ZodTypes)._zod.def
  switch (def.type) {
    case 'object':
      return Object.hasOwn(def.shape, key) ? def.shape[key as string] : def.catchall
    case 'record':
      return def.valueType
    case 'array':
      return def.element
    case 'tuple':
      return def.items[Number(key)] ?? def.rest ?? undefined
    default:
      return undefined
  }
}

function unwrap(schema: Schema | undefined, value: unknown): Schema[] {
  if (!schema) return []
  const def = (schema as z.core.$ZodTypes)._zod.def
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return unwrap(def.innerType, value)
    case 'pipe':
      return unwrap(def.in, value)
    case 'lazy':
      return unwrap(def.getter(), value)
    case 'intersection':
      return [...unwrap(def.left, value), ...unwrap(def.right, value)]
    case 'union': {
      const options = def.options.flatMap((o) => unwrap(o, value))
      if (!('discriminator' in def) || typeof def.discriminator !== 'string') return options
      const tag = lookup(value, [def.discriminator])
      const chosen = options.filter((o) => {
        const tagSchema = member(o, def.discriminator as string)
        return tagSchema !== undefined && z.safeParse(tagSchema, tag.value).success
      })
      return chosen.length > 0 ? chosen : options
    }
    default:
      return [schema]
  }
}

// ——— Lines and paths ———————————————————————————————————————————————————————————————————————

function at(
  src: Source,
  line: number | undefined,
  path: Path,
  message: string,
  hint?: string,
): ConfigIssue {
  const issue: ConfigIssue = { file: src.file, line, path: formatPath(path), message }
  return hint ? { ...issue, hint } : issue
}

/** `limits.rules[2].window`; keys that are not plain words are quoted: `routes["/login"]`. */
function formatPath(path: Path): string {
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`
      const name = String(key)
      return /^[A-Za-z_][\w-]*$/.test(name) ? `${i ? '.' : ''}${name}` : `[${JSON.stringify(name)}]`
    })
    .join('')
}

function lookup(data: unknown, path: Path): { value: unknown; present: boolean } {
  let value = data
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
      return { value: undefined, present: false }
    }
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return { value, present: true }
}

function lineOf(src: Source, node: unknown): number | undefined {
  const offset = isNode(node) ? node.range?.[0] : undefined
  return offset === undefined ? undefined : src.lines.linePos(offset).line
}

/**
 * The node at `path`, or at its deepest existing ancestor (a missing key's parent), and the key
 * node it sits under.
 */
function locate(src: Source, path: Path): { node: unknown; key: unknown } {
  let node: unknown = src.doc.contents
  let key: unknown
  for (const segment of path) {
    const parent = isAlias(node) ? node.resolve(src.doc) : node
    if (isMap(parent)) {
      const pair = parent.items.find((p) => keyName(p.key) === String(segment))
      if (!pair) break
      ;[node, key] = [pair.value, pair.key]
    } else if (isSeq(parent) && typeof segment === 'number' && segment < parent.items.length) {
      ;[node, key] = [parent.items[segment], undefined]
    } else break
  }
  return { node, key }
}

/** A value's line; for a block map or list under a key, the key's line, where the eye goes. */
function valueLine(src: Source, path: Path): number | undefined {
  const { node, key } = locate(src, path)
  const block = isCollection(node) && !node.flow
  return key !== undefined && (block || !isNode(node)) ? lineOf(src, key) : lineOf(src, node)
}

function keyLine(src: Source, path: Path, name: string): number | undefined {
  const { node } = locate(src, path)
  const map = isAlias(node) ? node.resolve(src.doc) : node
  return isMap(map) ? lineOf(src, map.items.find((p) => keyName(p.key) === name)?.key) : undefined
}

/** Issues by line, one copy of each (a union's branches can repeat one another). */
function byLine(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const unique = [...new Map(issues.map((i) => [formatIssue(i), i])).values()]
  return unique.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
}
