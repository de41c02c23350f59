/**
 * Loads OpenAPI documents synchronously: YAML or JSON, and every file their `$ref`s name, as
 * long as it lies next to the document (its directory or below it). Remote (`http:`) refs and
 * refs that climb out of that directory are config errors. Every `$ref` is rewritten to an
 * absolute `file:` URI, so a schema keeps its meaning wherever it is embedded later (ajv
 * resolves those URIs against the files added to it).
 *
 * Owns: reading, parsing, ref rewriting, JSON Pointer lookup, and naming a file and line for a
 * problem. Called by `operations.ts` at `create()`; never on the hot path.
 * @see ../../../docs/contract.md#documents-and-refs
 */
import { readFileSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { LineCounter, parseDocument, type Document } from 'yaml'
import { ConfigError } from '../../errors.js'

/** A location inside a document: keys and array indexes from its root. */
export type Pointer = readonly (string | number)[]

export interface LoadedFile {
  /** `file:///abs/openapi.yaml`: the base every `$ref` in it was resolved against. */
  readonly url: string
  /** The path as the user wrote it or as reached from a ref, for messages. */
  readonly display: string
  readonly value: unknown
  /** The YAML tree with positions, for naming lines in messages (parsed on demand for JSON). */
  source(): { readonly doc: Document; readonly lines: LineCounter }
}

export interface DocumentSet {
  /** Every file loaded, by URL: the entry documents and the files their refs reach. */
  readonly files: ReadonlyMap<string, LoadedFile>
  /** The entry documents, in config order. */
  readonly roots: readonly LoadedFile[]
  /** The value an absolute ref points at, with where it lives. Throws a ConfigError if none. */
  deref(ref: string, from?: Where): Resolved
  /** A ConfigError naming the file, line and OpenAPI location of a problem. */
  error(where: Where, message: string, hint?: string): ConfigError
}

export interface Where {
  readonly file: LoadedFile
  readonly at: Pointer
}

export interface Resolved extends Where {
  readonly value: unknown
}

/** Keys whose values are data, not OpenAPI or schema objects: a `$ref` inside them is data too. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'const', 'enum', 'x-examples'])

/**
 * Loads `files` (absolute, or relative to `baseDir`) and every file their refs reach.
 * @example
 * const set = loadDocuments(['openapi.yaml'], process.cwd())
 * set.roots[0].value // the parsed document, $refs rewritten to file: URIs
 */
export function loadDocuments(files: readonly string[], baseDir: string): DocumentSet {
  const loaded = new Map<string, LoadedFile>()
  const pending: { where: Where; target: string }[] = []
  // YAML aliases make one object appear in several places: rewrite its refs once.
  const rewritten = new WeakSet<object>()

  function load(path: string, display: string, scope: string, keyPath = ''): LoadedFile {
    const url = pathToFileURL(path).href
    const have = loaded.get(url)
    if (have) return have
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      const reason = err instanceof Error ? err.message.split(', ')[0] : String(err)
      throw new ConfigError(
        'ERR_CONFIG_UNREADABLE',
        [
          {
            file: display,
            path: keyPath,
            message: `cannot read OpenAPI file (${reason})`,
            ...(keyPath
              ? {
                  hint: `${keyPath} names it; a relative path resolves against the config file's directory`,
                }
              : {}),
          },
        ],
        { cause: err },
      )
    }
    // Large contracts are mostly generated JSON: JSON.parse is many times faster than a YAML
    // parser, and positions are only needed for a message (YAML 1.2 reads JSON the same way).
    const json = fastJson(text)
    let parsed: ReturnType<typeof parseYaml> | undefined
    const source = () => (parsed ??= parseYaml(text, display))
    const value: unknown = json.ok ? json.value : source().doc.toJS({ maxAliasCount: 1000 })
    const file: LoadedFile = { url, display, value, source }
    loaded.set(url, file)
    rewriteRefs(file, value, [], scope)
    return file
  }

  /**
   * Rewrites every `$ref` under `node` to an absolute URI and loads the files they name. `at` is
   * the path so far, one array pushed and popped on the way (copied only where a ref is).
   */
  function rewriteRefs(file: LoadedFile, node: unknown, at: (string | number)[], scope: string) {
    if (node === null || typeof node !== 'object' || rewritten.has(node)) return
    rewritten.add(node)
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        at.push(i)
        rewriteRefs(file, node[i], at, scope)
        at.pop()
      }
      return
    }
    const obj = node as Record<string, unknown>
    for (const key of Object.keys(obj)) {
      const v = obj[key]
      at.push(key)
      if (key === '$ref' && typeof v === 'string') obj.$ref = absoluteRef(file, v, [...at], scope)
      else if (!DATA_KEYS.has(key)) rewriteRefs(file, v, at, scope)
      at.pop()
    }
  }

  function absoluteRef(file: LoadedFile, ref: string, at: Pointer, scope: string): string {
    const where = { file, at }
    const hash = ref.indexOf('#')
    const target = hash < 0 ? ref : ref.slice(0, hash)
    const fragment = hash < 0 ? '' : ref.slice(hash + 1)
    if (fragment !== '' && !fragment.startsWith('/'))
      throw set.error(
        where,
        `$ref ${JSON.stringify(ref)}: only JSON Pointer fragments ("#/components/…") are supported`,
      )
    let url = file.url
    if (target !== '') {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target))
        throw set.error(
          where,
          `$ref ${JSON.stringify(ref)} is remote: only files next to the document may be referenced`,
          'copy the file next to the document and refer to it by a relative path',
        )
      let decoded: string
      try {
        decoded = decodeURIComponent(target)
      } catch {
        throw set.error(where, `$ref ${JSON.stringify(ref)} is not a valid URI reference`)
      }
      const path = resolve(dirname(fileURLToPath(file.url)), decoded)
      if (!inside(scope, path))
        throw set.error(
          where,
          `$ref ${JSON.stringify(ref)} leaves the document's directory: only files next to it may be referenced`,
        )
      url = load(path, relative(process.cwd(), path) || path, scope).url
    }
    const abs = fragment === '' ? url : `${url}#${fragment}`
    pending.push({ where, target: abs })
    return abs
  }

  const set: DocumentSet = {
    files: loaded,
    roots: [],
    deref(ref, from) {
      const hash = ref.indexOf('#')
      const url = hash < 0 ? ref : ref.slice(0, hash)
      const file = loaded.get(url)
      const at = hash < 0 ? [] : parsePointer(ref.slice(hash + 1))
      const value = file && at ? lookup(file.value, at) : undefined
      if (!file || !at || value === undefined)
        throw from
          ? set.error(from, `$ref ${JSON.stringify(ref)} points at nothing`)
          : new TypeError(`$ref ${ref} points at nothing`)
      return { file, at, value }
    },
    error(where, message, hint) {
      return new ConfigError('ERR_CONFIG_INVALID', [
        {
          file: where.file.display,
          ...lineOf(where),
          path: formatPointer(where.at),
          message,
          ...(hint ? { hint } : {}),
        },
      ])
    },
  }

  const roots = files.map((f, i) => {
    const path = isAbsolute(f) ? f : resolve(baseDir, f)
    return load(
      path,
      f,
      realDir(path),
      files.length > 1 ? `contract.openapi[${i}]` : 'contract.openapi',
    )
  })
  ;(set as { roots: readonly LoadedFile[] }).roots = roots
  for (const p of pending) set.deref(p.target, p.where)
  return set
}

function parseYaml(text: string, display: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  if (doc.errors.length)
    throw new ConfigError(
      'ERR_CONFIG_PARSE',
      doc.errors.map((e) => ({
        file: display,
        line: lines.linePos(e.pos[0]).line,
        path: '',
        message: e.message.split('\n')[0]!,
      })),
    )
  return { doc, lines }
}

/** JSON text, parsed (a key given twice: the last wins, as in every JSON tool); else not ok. */
function fastJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const first = text.trimStart().charCodeAt(0)
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) return { ok: false }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

/**
 * Follows a `$ref` (or a chain of them) from an OpenAPI object to the object it names, with
 * where that lives; a value without `$ref` is returned as it is.
 */
export function follow(
  set: DocumentSet,
  value: unknown,
  where: Where,
): { value: unknown; where: Where } {
  let v = value
  let w = where
  for (let i = 0; i < 32 && isRef(v); i++) {
    const r = set.deref(v.$ref, { file: w.file, at: [...w.at, '$ref'] })
    v = r.value
    w = { file: r.file, at: r.at }
  }
  return { value: v, where: w }
}

/** A JSON object (not null, not a list). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function isRef(v: unknown): v is { $ref: string } {
  return v !== null && typeof v === 'object' && typeof (v as { $ref?: unknown }).$ref === 'string'
}

/** The directory a root document may draw files from (symlinks resolved). */
function realDir(path: string): string {
  try {
    return dirname(realpathSync(path))
  } catch {
    return dirname(path)
  }
}

function inside(dir: string, path: string): boolean {
  let real = path
  try {
    real = realpathSync(path)
  } catch {
    // A missing file is reported by load() with a clearer message.
  }
  const rel = relative(dir, real)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel))
}

/** `/components/schemas/Pet` → ['components', 'schemas', 'Pet'] (RFC 6901, URI-decoded). */
export function parsePointer(fragment: string): string[] | undefined {
  if (fragment === '') return []
  if (!fragment.startsWith('/')) return undefined
  try {
    return fragment
      .slice(1)
      .split('/')
      .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
  } catch {
    return undefined
  }
}

function lookup(root: unknown, at: Pointer): unknown {
  let v = root
  for (const k of at) {
    if (v === null || typeof v !== 'object') return undefined
    const o = v as Record<string | number, unknown>
    if (!Object.hasOwn(o, k)) return undefined
    v = o[k]
  }
  return v
}

/** `paths["/pets/{id}"].get.parameters[0]`: the same notation as config key paths. */
export function formatPointer(at: Pointer): string {
  let out = ''
  for (const k of at) {
    if (typeof k === 'number') out += `[${k}]`
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(k)) out += out === '' ? k : `.${k}`
    else out += `[${JSON.stringify(k)}]`
  }
  return out
}

/** The line of the closest node that exists on the way to `where.at`. */
function lineOf(where: Where): { line?: number } {
  const path = [...where.at]
  while (true) {
    const { doc, lines } = where.file.source()
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined
    if (node && node.range) return { line: lines.linePos(node.range[0]).line }
    if (path.length === 0) return {}
    path.pop()
  }
}
