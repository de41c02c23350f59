/**
 * Reads the path templates and methods of an OpenAPI 3.x or Swagger 2.0 document (YAML or JSON)
 * — just enough for the audit to name endpoints the way the API documents them and to find
 * traffic it does not document. Not a validator: schemas, parameters and `$ref`s are ignored.
 * `/pets/{petId}` becomes the route pattern `/pets/:petId`, prefixed by the base path of
 * `servers[].url` (3.x) or `basePath` (2.0).
 * @see https://spec.openapis.org/oas/v3.1.0#paths-object
 */
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { compileRoutes, patternProblem } from '../request/routes.js'
import { fsReason, InputError } from '../logs/input-error.js'

const OPERATIONS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** One documented method of one documented path. */
export interface ApiOperation {
  readonly method: string
  /** Bulwark route pattern: `/v1/pets/:petId`. */
  readonly template: string
}

/** What the log's path matched in the document. */
export interface ApiMatch {
  readonly template: string
  /** True when the document lists this method for the path (HEAD counts as documented with GET). */
  readonly documented: boolean
}

/** The paths of an OpenAPI document, compiled for matching log paths. */
export interface ApiSpec {
  readonly file: string
  readonly operations: readonly ApiOperation[]
  /** The document's template for a canonical path key, or undefined when no path matches. */
  match(method: string, key: string): ApiMatch | undefined
}

/**
 * @throws {InputError} `ERR_OPENAPI_UNREADABLE`, or `ERR_OPENAPI_INVALID` when the file is not
 * YAML/JSON or has no `paths` object.
 * @example const api = await readOpenApi('openapi.yaml'); api.match('GET', '/v1/pets/7')
 */
export async function readOpenApi(file: string): Promise<ApiSpec> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new InputError(
      'ERR_OPENAPI_UNREADABLE',
      file,
      `cannot read OpenAPI file (${fsReason(err)})`,
      {
        cause: err,
      },
    )
  }
  return openApiFromText(text, file)
}

/** Same as {@link readOpenApi}, from text. */
export function openApiFromText(text: string, file = 'openapi.yaml'): ApiSpec {
  let doc: unknown
  try {
    doc = parse(text, { maxAliasCount: 100 })
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new InputError('ERR_OPENAPI_INVALID', file, `not YAML or JSON (${why})`, { cause: err })
  }
  const paths = isObject(doc) ? doc.paths : undefined
  if (!isObject(doc) || !isObject(paths))
    throw new InputError(
      'ERR_OPENAPI_INVALID',
      file,
      'expected an OpenAPI document with a "paths" object',
    )
  const bases = basePaths(doc)
  // Templates of one shape (`/a/{x}` and `/a/{y}`) are one route: keep the first name, all methods.
  const byShape = new Map<string, { template: string; methods: Set<string> }>()
  const operations: ApiOperation[] = []
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/') || !isObject(item)) continue
    const methods = OPERATIONS.filter((m) => item[m] !== undefined).map((m) => m.toUpperCase())
    for (const base of bases) {
      const template = toPattern(base + path)
      if (template === undefined) continue
      const shape = template.toLowerCase().replace(/\/:[^/]+/g, '/:')
      let entry = byShape.get(shape)
      if (!entry) byShape.set(shape, (entry = { template, methods: new Set() }))
      for (const m of methods) {
        if (entry.methods.has(m)) continue
        entry.methods.add(m)
        operations.push({ method: m, template: entry.template })
      }
    }
  }
  const routes = compileRoutes(
    [...byShape.values()].map((e) => ({ paths: [e.template], value: e })),
    true,
  )
  return {
    file,
    operations,
    match(method, key) {
      const hit = routes.best(method, key)
      if (!hit) return undefined
      const m = hit.value.methods
      return {
        template: hit.value.template,
        documented: m.has(method) || (method === 'HEAD' && m.has('GET')),
      }
    },
  }
}

/** `''` or the path parts of the servers' URLs (`https://api.example.com/v1` → `/v1`). */
function basePaths(doc: Record<string, unknown>): string[] {
  const out = new Set<string>()
  if (typeof doc.basePath === 'string') out.add(trimSlash(doc.basePath))
  if (Array.isArray(doc.servers))
    for (const s of doc.servers) {
      if (!isObject(s) || typeof s.url !== 'string') continue
      const url = s.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const v = isObject(s.variables) ? s.variables[name] : undefined
        return isObject(v) && typeof v.default === 'string' ? v.default : ''
      })
      const path = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.test(url)
        ? url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
        : url.startsWith('/')
          ? url
          : ''
      out.add(trimSlash(path.split(/[?#]/)[0]!))
    }
  if (out.size === 0) out.add('')
  return [...out]
}

function trimSlash(p: string): string {
  const t = p.replace(/\/+$/, '')
  return t === '' || t.startsWith('/') ? t : '/' + t
}

/**
 * `/pets/{petId}` → `/pets/:petId`. A segment mixing text and a parameter (`{name}.json`)
 * becomes a whole-segment parameter; names are made valid and unique. Undefined when the result
 * is still not a route pattern.
 */
function toPattern(path: string): string | undefined {
  const used = new Set<string>()
  const segs = path.split('/').map((seg, i) => {
    if (i === 0 || !seg.includes('{')) return seg
    const raw = /\{([^}]*)\}/.exec(seg)?.[1] ?? 'param'
    let name = raw.replace(/[^A-Za-z0-9_]/g, '_')
    if (!/^[A-Za-z_]/.test(name)) name = `p${name}`
    let unique = name
    for (let n = 2; used.has(unique); n++) unique = `${name}${n}`
    used.add(unique)
    return `:${unique}`
  })
  let pattern = segs.join('/').replace(/\/+$/, '')
  if (pattern === '') pattern = '/'
  return patternProblem(pattern) === undefined ? pattern : undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
