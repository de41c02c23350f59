/**
 * OpenAPI path templates (`/pets/{petId}`, `/files/{name}.{ext}`) as gateway route patterns
 * (`/pets/:p0`), so a contract's paths join the same segment trie the gateway routes with.
 * A segment that is one whole `{param}` becomes a trie parameter; a segment that mixes text and
 * parameters becomes a trie parameter checked by a regular expression built here, once.
 * @see ../../../docs/contract.md#paths
 */

/** How to read one trie parameter back into OpenAPI parameter names. */
export interface PathParam {
  /** The trie's name for it: `p0`, `p1`… */
  readonly key: string
  /** OpenAPI parameter names, in order: one for `{id}`, two for `{name}.{ext}`. */
  readonly names: readonly string[]
  /** Set for a mixed segment: matches the whole segment, one group per name. */
  readonly regex: RegExp | undefined
}

export interface PathPattern {
  /** `/pets/:p0` */
  readonly pattern: string
  readonly params: readonly PathParam[]
}

const WHOLE = /^\{([^{}]+)\}$/

/**
 * @example
 * pathPattern('/files/{name}.{ext}')
 * // { pattern: '/files/:p0', params: [{ key: 'p0', names: ['name', 'ext'], regex: /^([^/]+?)\.([^/]+?)$/ }] }
 */
export function pathPattern(template: string, caseSensitive = true): PathPattern {
  const params: PathParam[] = []
  const out: string[] = []
  for (const seg of template.split('/')) {
    if (seg === '') continue
    const whole = WHOLE.exec(seg)
    if (whole) {
      const key = `p${params.length}`
      params.push({ key, names: [whole[1]!], regex: undefined })
      out.push(`:${key}`)
    } else if (
      seg.includes('{') ||
      seg.includes('*') ||
      seg.startsWith(':') ||
      seg === '.' ||
      seg === '..'
    ) {
      // Text the trie would read as syntax, or text around parameters: match it by regex.
      const names: string[] = []
      const source = seg
        .split(/(\{[^{}]+\})/)
        .map((part) => {
          const m = WHOLE.exec(part)
          if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          names.push(m[1]!)
          return '([^/]+?)'
        })
        .join('')
      const key = `p${params.length}`
      params.push({ key, names, regex: new RegExp(`^${source}$`, caseSensitive ? '' : 'i') })
      out.push(`:${key}`)
    } else out.push(seg)
  }
  return { pattern: '/' + out.join('/'), params }
}

/**
 * The OpenAPI parameter values of one match, still percent-encoded; undefined when a mixed
 * segment's text does not match (the path is then not this one).
 */
export function pathValues(
  params: readonly PathParam[],
  hit: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const p of params) {
    const raw = hit[p.key] ?? ''
    if (!p.regex) {
      out[p.names[0]!] = raw
      continue
    }
    const m = p.regex.exec(raw)
    if (!m) return undefined
    p.names.forEach((n, i) => (out[n] = m[i + 1]!))
  }
  return out
}
