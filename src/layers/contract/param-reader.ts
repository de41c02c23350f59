/**
 * Parameters as OpenAPI serialises them (`style`, `explode`), read out of the canonical request
 * into plain values that a compiled schema can check: `?ids=1&ids=2` (form, exploded),
 * `?ids=1,2` (form), `?ids=1%202` (spaceDelimited), `?ids=1|2` (pipeDelimited),
 * `?color[R]=100` (deepObject), `/pets/.5` (label), `;id=5` (matrix), `X-Ids: 1, 2` (simple).
 *
 * Strings are turned into the types the parameter's schema asks for (`"5"` → 5 for an integer,
 * `"true"` → true for a boolean) and left alone otherwise, so the schema reports `type`. A value
 * a backend could read two ways — a single-valued parameter given twice (HTTP parameter
 * pollution), a malformed escape — is a violation before any schema runs.
 *
 * Readers are built once per operation at `create()`; per request they only split strings.
 * @see ../../../docs/contract.md#parameters
 */
import { decodePath, type RequestParts } from './request-parts.js'
import { coerce, NO_PROPS, NO_SHAPE, type Shape } from './shape.js'
import { Unreadable, type Section } from './violations.js'

export interface ParamReader {
  readonly section: Section
  /** Name in the section (header names lower-cased). */
  readonly key: string
  /** Query parameter names this reader consumes, and a prefix for deepObject (`color[`). */
  readonly queryNames: readonly string[]
  readonly queryPrefix: string | undefined
  /** The value for the schema; undefined when absent; Unreadable when ambiguous. */
  read(parts: RequestParts): unknown
}

export interface ParamDef {
  readonly name: string
  readonly in: Section
  readonly style: string
  readonly explode: boolean
  /** Set when the parameter is described by `content` (a JSON value) instead of a schema. */
  readonly json: boolean
  readonly shape: Shape
}

/** Compiles one parameter's reader. */
export function paramReader(p: ParamDef): ParamReader {
  const kind = p.shape.types.has('array')
    ? 'array'
    : p.shape.types.has('object')
      ? 'object'
      : 'primitive'
  const item = p.shape.items ?? NO_SHAPE
  const props = p.shape.props ?? NO_PROPS

  if (p.json)
    return single(p, (v) => {
      try {
        return JSON.parse(v) as unknown
      } catch {
        return new Unreadable('parse')
      }
    })

  switch (p.in) {
    case 'query': {
      if (kind === 'object' && p.style === 'deepObject') {
        const prefix = `${p.name}[`
        return {
          section: 'query',
          key: p.name,
          queryNames: [],
          queryPrefix: prefix,
          read(parts) {
            let obj: Record<string, unknown> | undefined
            for (const [name, values] of parts.query) {
              if (!name.startsWith(prefix) || !name.endsWith(']')) continue
              const prop = name.slice(prefix.length, -1)
              if (values.length > 1) return new Unreadable('duplicate', `${p.name}/${prop}`)
              ;(obj ??= {})[prop] = coerce(values[0]!, props.get(prop) ?? NO_SHAPE)
            }
            return obj
          },
        }
      }
      if (kind === 'object' && p.explode) {
        // Each property is a query parameter of its own: `?role=admin&name=Alex`.
        const names = [...props.keys()]
        return {
          section: 'query',
          key: p.name,
          queryNames: names,
          queryPrefix: undefined,
          read(parts) {
            let obj: Record<string, unknown> | undefined
            for (const name of names) {
              const values = parts.query.get(name)
              if (!values) continue
              if (values.length > 1) return new Unreadable('duplicate', `${p.name}/${name}`)
              ;(obj ??= {})[name] = coerce(values[0]!, props.get(name)!)
            }
            return obj
          },
        }
      }
      if (kind === 'array' && p.explode) {
        // `?id=1&id=2` (form; spaceDelimited and pipeDelimited read the same when exploded).
        return {
          section: 'query',
          key: p.name,
          queryNames: [p.name],
          queryPrefix: undefined,
          read(parts) {
            const values = parts.query.get(p.name)
            return values ? values.map((v) => coerce(v, item)) : undefined
          },
        }
      }
      const sep = p.style === 'spaceDelimited' ? ' ' : p.style === 'pipeDelimited' ? '|' : ','
      return single(p, (v) => split(v, kind, sep, p.shape, false))
    }
    case 'path': {
      const label = p.style === 'label'
      const matrix = p.style === 'matrix'
      const lead = matrix ? `;${p.name}=` : label ? '.' : ''
      const sep = label && p.explode ? '.' : matrix && p.explode ? lead : ','
      return single(p, (raw) => {
        if (!raw.startsWith(lead)) return new Unreadable('style')
        const list = raw.slice(lead.length)
        if (kind === 'primitive') {
          const v = decodePath(list)
          return v === undefined ? new Unreadable('encoding') : coerce(v, p.shape)
        }
        const decoded: string[] = []
        for (const piece of list.split(sep)) {
          const v = decodePath(piece)
          if (v === undefined) return new Unreadable('encoding')
          decoded.push(v)
        }
        return pieces(decoded, kind, item, props, p.explode)
      })
    }
    case 'header':
      return single(p, (v) => split(v.trim(), kind, ',', p.shape, p.explode))
    case 'cookie':
      return single(p, (v) => split(v, kind, ',', p.shape, false))
  }
}

/**
 * A reader for a parameter sent as one value (a query parameter given once, a header, a cookie,
 * a path segment): absent is undefined, given twice is ambiguous, else `parse` reads it.
 */
function single(p: ParamDef, parse: (value: string) => unknown): ParamReader {
  const name = p.in === 'header' ? p.name.toLowerCase() : p.name
  return {
    section: p.in,
    key: name,
    queryNames: p.in === 'query' ? [p.name] : [],
    queryPrefix: undefined,
    read(parts) {
      let value: string | undefined
      if (p.in === 'path') value = parts.path[name]
      else if (p.in === 'header') {
        const h = parts.headers[name]
        if (Array.isArray(h)) return new Unreadable('duplicate')
        value = h
      } else {
        const values = (p.in === 'query' ? parts.query : parts.cookies).get(name)
        // HTTP parameter pollution: first value for one parser, last (or both) for another.
        if (values && values.length > 1) return new Unreadable('duplicate')
        value = values?.[0]
      }
      return value === undefined ? undefined : parse(value)
    },
  }
}

function split(
  v: string,
  kind: 'array' | 'object' | 'primitive',
  sep: string,
  shape: Shape,
  explode: boolean,
): unknown {
  if (kind === 'primitive') return coerce(v, shape)
  if (v === '') return kind === 'array' ? [] : {}
  return pieces(
    v.split(sep).map((s) => s.trim()),
    kind,
    shape.items ?? NO_SHAPE,
    shape.props ?? NO_PROPS,
    explode,
  )
}

/** `a,b,c` for arrays; `k,v,k,v` (or `k=v,k=v` exploded) for objects. */
function pieces(
  list: readonly string[],
  kind: 'array' | 'object' | 'primitive',
  item: Shape,
  props: ReadonlyMap<string, Shape>,
  explode: boolean,
): unknown {
  if (kind === 'array') return list.map((s) => coerce(s, item))
  const obj: Record<string, unknown> = {}
  if (explode) {
    for (const kv of list) {
      const eq = kv.indexOf('=')
      if (eq < 0) return new Unreadable('style')
      const k = kv.slice(0, eq)
      if (Object.hasOwn(obj, k)) return new Unreadable('duplicate')
      obj[k] = coerce(kv.slice(eq + 1), props.get(k) ?? NO_SHAPE)
    }
    return obj
  }
  if (list.length % 2 !== 0) return new Unreadable('style')
  for (let i = 0; i < list.length; i += 2) {
    const k = list[i]!
    if (Object.hasOwn(obj, k)) return new Unreadable('duplicate')
    obj[k] = coerce(list[i + 1]!, props.get(k) ?? NO_SHAPE)
  }
  return obj
}
