/**
 * Hidden fields: body or query parameters the real front end renders hidden from people (a
 * `website` input on a signup form). People leave them empty; a bot that fills every input
 * fills them too. Bodies are read only on the fields' own routes.
 * @see ../../../docs/deception.md#hidden-fields-and-trap-headers
 */
import type { RequestContext } from '../../engine/types.js'
import type { BodyFields } from '../../request/body.js'
import { compileRoutes, lowerKey } from '../../request/routes.js'
import type { Trap } from './trap.js'

export interface FieldRule {
  readonly name: string
  readonly paths: readonly string[]
  readonly methods: readonly string[]
  readonly in: readonly ('body' | 'query')[]
}

export interface FieldHit {
  readonly trap: Trap
  readonly name: string
}

/** Empty, null or blank is what a person's browser sends for a hidden field. */
function filled(v: unknown): boolean {
  if (v === undefined || v === null) return false
  if (typeof v === 'string') return v.trim() !== ''
  return true
}

/**
 * @example
 * const fields = compileFields([{ name: 'website', paths: ['/api/signup'], methods: [], in: ['body'] }], [trap])
 * const hits = fields.match(ctx)
 * fields.inQuery(ctx, hits) ?? (fields.needsBody(hits) && fields.inBody(await bodyFields(ctx), hits))
 */
export function compileFields(rules: readonly FieldRule[], traps: readonly Trap[]) {
  const matcher = compileRoutes(
    rules.map((f, i) => ({ paths: f.paths, methods: f.methods, value: i })),
    true,
  )
  const inBody = rules.map((r) => r.in.includes('body'))
  const inQuery = rules.map((r) => r.in.includes('query'))
  const none: number[] = []

  return {
    /** Indexes of the field rules on this request's route. */
    match(ctx: RequestContext): readonly number[] {
      return rules.length === 0 ? none : matcher.all(ctx.method, lowerKey(ctx.pathKey))
    },
    needsBody(hits: readonly number[]): boolean {
      return hits.some((i) => inBody[i])
    },
    inQuery(ctx: RequestContext, hits: readonly number[]): FieldHit | undefined {
      if (ctx.query === '' || hits.length === 0) return undefined
      const params = new URLSearchParams(ctx.query)
      for (const i of hits) {
        const name = rules[i]!.name
        if (inQuery[i] && params.getAll(name).some(filled)) return { trap: traps[i]!, name }
      }
      return undefined
    },
    inBody(fields: BodyFields, hits: readonly number[]): FieldHit | undefined {
      if (!fields.ok) return undefined
      for (const i of hits) {
        const name = rules[i]!.name
        // A field given twice (AMBIGUOUS) was filled at least once: a person sends it once, empty.
        if (inBody[i] && filled(fields.get(name))) return { trap: traps[i]!, name }
      }
      return undefined
    },
  }
}
