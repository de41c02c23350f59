/**
 * Compiles OpenAPI documents into what the contract layer runs per request: a route trie of the
 * documented paths, and for each operation its parameter readers and one ajv validator per
 * request body media type. Everything is compiled here, once, at `create()`; the hot path only
 * looks things up and calls compiled functions.
 *
 * Each validator checks one "envelope" `{ path, query, header, cookie, body }`, so a request is
 * checked by one call, and an operation costs one compile (identical envelopes share one).
 * @see ../../../docs/contract.md#how-it-works
 */
import { compileRoutes, type RouteMatcher } from '../../request/routes.js'
import { createAjv, type ValidateFunction } from './ajv.js'
import { follow, isObj, loadDocuments, type DocumentSet, type Where } from './documents.js'
import { compileOperation, type Operation } from './operation.js'
import { compileCredentials } from './credentials.js'
import { pathPattern } from './path-template.js'
import type { ContractSpec } from './spec.js'
import { schemaConverter, under, type OpenApiVersion } from './to-json-schema.js'

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

type Obj = Record<string, unknown>

export interface PathEntry {
  /** The documented template, base path included: `/api/products/{id}`. */
  readonly template: string
  readonly ops: ReadonlyMap<string, Operation>
  /** The `Allow` header for a 405: the documented methods (HEAD wherever GET is). */
  readonly allow: string
}

export interface CompiledContract {
  readonly matcher: RouteMatcher<PathEntry>
  /** The same paths matched case-insensitively: names a near miss in case-sensitive mode. */
  readonly folded: RouteMatcher<PathEntry> | undefined
  readonly operations: number
  /** What ajv ignored (an unknown format…), for one notice at load. */
  readonly warnings: readonly string[]
  /** What the documents describe, for config checks. */
  readonly documented: Documented
}

/** The documented paths as route patterns (`/v1/accounts/:p0`) and their parameters' names. */
export interface Documented {
  readonly patterns: readonly string[]
  /** The same paths as the documents write them (`/v1/accounts/{id}`), for messages. */
  readonly templates: readonly string[]
  readonly params: ReadonlySet<string>
  /**
   * Operations the documents secure (`security`, their own or the document's, with no empty
   * requirement `{}` that would make it optional): the config check warns of those no `auth`
   * rule covers.
   */
  readonly secured: readonly { method: string; pattern: string; template: string }[]
  /** Operations whose success is not documented as JSON: their `deceive` fakes are generic. */
  readonly unshaped: readonly string[]
}

/**
 * @example
 * const c = compileContract(spec, process.cwd())
 * c.matcher.best('GET', '/api/products/7')?.value.ops.get('GET')
 */
export function compileContract(spec: ContractSpec, baseDir: string): CompiledContract {
  const files = typeof spec.openapi === 'string' ? [spec.openapi] : spec.openapi
  const set = loadDocuments(files, baseDir)
  const { ajv, warnings } = createAjv()
  for (const f of set.files.values())
    if (f.value !== null && typeof f.value === 'object') ajv.addSchema(f.value as Obj, f.url)
  const convert = schemaConverter(set)
  const compiled = new Map<string, ValidateFunction>()
  const entries = new Map<string, { template: string; ops: Map<string, Operation> }>()
  let operations = 0
  const secured: { method: string; pattern: string; template: string }[] = []
  const cx = { set, spec, convert, compile: compileEnvelope }

  function compileEnvelope(envelope: Obj, where: Where): ValidateFunction {
    let key: string
    try {
      key = JSON.stringify(envelope)
    } catch {
      // A schema that contains itself through YAML aliases (not through $ref).
      throw set.error(where, 'a schema contains itself; use a $ref for recursive schemas')
    }
    let fn = compiled.get(key)
    if (!fn) {
      try {
        fn = ajv.compile(envelope)
      } catch (err) {
        throw set.error(where, `cannot compile the operation's schemas: ${(err as Error).message}`)
      }
      compiled.set(key, fn)
    }
    return fn
  }

  for (const root of set.roots) {
    const doc = root.value as Obj
    const here: Where = { file: root, at: [] }
    const version = versionOf(doc, set, here)
    const base = spec.basePath ?? basePathOf(doc)
    const schemes = spec.validate.credentials ? securitySchemes(set, doc, here) : undefined
    const paths = doc.paths
    if (paths === undefined) continue
    if (!isObj(paths)) throw set.error(under(here, 'paths'), 'expected a map of paths')
    for (const [path, rawItem] of Object.entries(paths)) {
      const itemWhere = under(here, 'paths', path)
      if (!path.startsWith('/')) throw set.error(itemWhere, 'expected a path starting with "/"')
      const { value: item, where: iw } = follow(set, rawItem, itemWhere)
      if (!isObj(item)) throw set.error(iw, 'expected a path item object')
      const template = joinPath(base, path)
      const { pattern, params: pathParams } = pathPattern(template, spec.caseSensitive)
      let entry = entries.get(pattern)
      if (!entry) entries.set(pattern, (entry = { template, ops: new Map() }))
      for (const m of METHODS) {
        const op = item[m]
        if (op === undefined) continue
        const ow = under(iw, m)
        if (!isObj(op)) throw set.error(ow, 'expected an operation object')
        const method = m.toUpperCase()
        if (requiresSecurity(op.security ?? doc.security))
          secured.push({ method, pattern, template })
        if (entry.ops.has(method))
          throw set.error(
            ow,
            `${method} ${template} is described twice (as ${entry.template}${entry.template === template ? ' in another document' : ''})`,
          )
        const compiled = compileOperation(cx, {
          method,
          template,
          pathParams,
          item,
          op,
          itemWhere: iw,
          opWhere: ow,
          version,
        })
        const credentials =
          schemes === undefined
            ? undefined
            : compileCredentials(op.security ?? doc.security, schemes)
        entry.ops.set(method, credentials ? { ...compiled, credentials } : compiled)
        operations++
      }
    }
  }

  const list = [...entries.entries()].map(([pattern, e]) => {
    const methods = [...e.ops.keys()]
    if (e.ops.has('GET') && !e.ops.has('HEAD')) methods.push('HEAD')
    return { pattern, entry: { template: e.template, ops: e.ops, allow: methods.join(', ') } }
  })
  const patterns = list.map(({ pattern, entry }) => ({ paths: [pattern], value: entry }))
  return {
    matcher: compileRoutes(patterns, !spec.caseSensitive),
    folded: spec.caseSensitive ? compileRoutes(patterns, true) : undefined,
    operations,
    warnings,
    documented: {
      patterns: list.map((l) => l.pattern),
      templates: list.map((l) => l.entry.template),
      params: new Set(
        list.flatMap((l) => [...l.entry.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)),
      ),
      secured,
      unshaped: list.flatMap((l) =>
        [...l.entry.ops.values()].filter((o) => o.fake === undefined).map((o) => o.id),
      ),
    },
  }
}

/** The document's security schemes by name, each followed through its `$ref`. */
function securitySchemes(set: DocumentSet, doc: Obj, here: Where): Obj {
  const out: Obj = {}
  const components = follow(set, doc.components, under(here, 'components')).value
  if (!isObj(components)) return out
  const where = under(here, 'components', 'securitySchemes')
  const schemes = follow(set, components.securitySchemes, where).value
  if (!isObj(schemes)) return out
  for (const [name, raw] of Object.entries(schemes))
    out[name] = follow(set, raw, under(where, name)).value
  return out
}

/** An OpenAPI `security` list that every caller must meet: non-empty, and no `{}` in it. */
function requiresSecurity(security: unknown): boolean {
  return (
    Array.isArray(security) &&
    security.length > 0 &&
    security.every((r) => isObj(r) && Object.keys(r).length > 0)
  )
}

function versionOf(doc: Obj, set: DocumentSet, here: Where): OpenApiVersion {
  const v = doc.openapi
  if (typeof v === 'string' && /^3\.0\.\d+/.test(v)) return '3.0'
  if (typeof v === 'string' && /^3\.1\.\d+/.test(v)) return '3.1'
  throw set.error(
    under(here, doc.swagger !== undefined ? 'swagger' : 'openapi'),
    `expected an OpenAPI 3.0 or 3.1 document ("openapi: 3.1.0"), got ${JSON.stringify(v ?? doc.swagger ?? null)}`,
    doc.swagger !== undefined ? 'convert Swagger 2.0 to OpenAPI 3 first' : undefined,
  )
}

/** The path of the first server URL (`https://shop.example/api` → `/api`), or ''. */
export function basePathOf(doc: Obj): string {
  const servers = doc.servers
  if (!Array.isArray(servers) || !isObj(servers[0])) return ''
  const url = servers[0].url
  if (typeof url !== 'string' || url.includes('{')) return ''
  let path = url
  if (!url.startsWith('/')) {
    try {
      path = new URL(url).pathname
    } catch {
      return ''
    }
  }
  return path.replace(/\/+$/, '')
}

function joinPath(base: string, path: string): string {
  const b = base.replace(/\/+$/, '')
  return b === '' ? path : `${b}${path}`
}
