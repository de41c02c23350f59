/**
 * Checks one request against its operation: reads the parameters the operation declares, reads
 * the body only when its media type has a schema (through the one shared parse, `bodyFields`),
 * and calls the operation's compiled validator once. Synchronous unless the body must be read.
 * Called by the contract layer for every documented request.
 * @see ../../../docs/contract.md#how-it-works
 */
import { hasBody } from '../../engine/context.js'
import type { MaybePromise, RequestContext } from '../../engine/types.js'
import { bodyFields } from '../../request/body.js'
import type { ValidateFunction } from './ajv.js'
import { isFormType, isJsonType, mediaType } from './media-type.js'
import type { Media, Operation } from './operation.js'
import { parseCookies, parseQuery, type RequestParts } from './request-parts.js'
import { formObject } from './shape.js'
import type { ContractSpec } from './spec.js'
import { toViolations, Unreadable, type Violation } from './violations.js'

/** Why a request is refused: what it broke, and the status to answer with (400, or 415). */
export interface Refusal {
  readonly violations: readonly Violation[]
  readonly status: number
}

const NO_VALUES: ReadonlyMap<string, readonly string[]> = new Map()

/**
 * @example
 * const validate = requestValidator(spec)
 * const refusal = await validate(ctx, op, { id: '7' }) // undefined: the request keeps the contract
 */
export function requestValidator(spec: ContractSpec) {
  const refuseUnknownQuery = spec.validate.unknownQuery === 'refuse'

  function judge(
    validate: ValidateFunction | undefined,
    data: Record<string, unknown>,
    violations: Violation[],
  ): Refusal | undefined {
    if (violations.length === 0 && validate && !validate(data))
      violations.push(...toViolations(validate.errors))
    return violations.length ? { violations, status: 400 } : undefined
  }

  return function validateRequest(
    ctx: RequestContext,
    op: Operation,
    path: Readonly<Record<string, string>>,
  ): MaybePromise<Refusal | undefined> {
    // Nothing declared and nothing sent (most GETs): nothing to read, nothing to allocate.
    if (!op.validate && !op.usesQuery && !op.body && !(spec.validate.body && hasBody(ctx.headers)))
      return undefined
    const violations: Violation[] = []
    let query = NO_VALUES
    if (op.usesQuery && ctx.query !== '') {
      const q = parseQuery(ctx.query)
      if (q instanceof Unreadable)
        violations.push({ in: 'query', field: q.field ?? '', rule: q.rule })
      else query = q
    }
    const parts: RequestParts = {
      query,
      path,
      headers: ctx.headers,
      cookies: op.usesCookies ? parseCookies(ctx.headers.cookie) : NO_VALUES,
    }
    const sections: Record<string, Record<string, unknown>> = {
      path: {},
      query: {},
      header: {},
      cookie: {},
    }
    for (const r of op.readers) {
      const v = r.read(parts)
      if (v === undefined) continue
      if (v instanceof Unreadable)
        violations.push({ in: r.section, field: v.field ?? r.key, rule: v.rule })
      else sections[r.section]![r.key] = v
    }
    for (const name of query.keys()) {
      if (op.queryNames.has(name) || op.queryPrefixes.some((p) => name.startsWith(p))) continue
      if (refuseUnknownQuery) violations.push({ in: 'query', field: name, rule: 'undocumented' })
      // `?Limit=` beside a declared `limit`: a backend that ignores the case of names (ASP.NET,
      // some PHP and Java stacks) reads a value the contract never checked.
      else if (op.queryFolded.has(name.toLowerCase()))
        violations.push({ in: 'query', field: name, rule: 'spelling' })
    }
    const data: Record<string, unknown> = sections
    // Parameters that cannot be read: refuse now, without waiting for (or reading) the body.
    if (!spec.validate.body || violations.length) return judge(op.validate, data, violations)

    const sent = hasBody(ctx.headers)
    if (!op.body) {
      if (sent) violations.push({ in: 'body', field: '', rule: 'unexpected' })
      return judge(op.validate, data, violations)
    }
    if (!sent) {
      if (op.body.required) violations.push({ in: 'body', field: '', rule: 'required' })
      return judge(op.validate, data, violations)
    }
    const type = mediaType(String(ctx.headers['content-type'] ?? ''))
    const media = lookupMedia(op.body.media, type)
    if (!media) return { violations: [{ in: 'body', field: '', rule: 'mediaType' }], status: 415 }
    if (!media.parsed || !(isJsonType(type) || isFormType(type)))
      return judge(op.validate, data, violations)

    const required = op.body.required
    return bodyFields(ctx).then((fields) => {
      if (!fields.ok) return judge(undefined, data, [{ in: 'body', field: '', rule: 'parse' }])
      if (fields.kind === 'empty') {
        if (required) violations.push({ in: 'body', field: '', rule: 'required' })
        return judge(op.validate, data, violations)
      }
      const body =
        fields.kind === 'json' ? fields.value : formObject(fields.entries?.() ?? [], media.shape)
      if (body instanceof Unreadable)
        return judge(undefined, data, [{ in: 'body', field: body.field ?? '', rule: body.rule }])
      data.body = body
      return judge(media.validate, data, violations)
    })
  }
}

/** The media type's entry, else its `type/*` range, else `*\/*`. */
function lookupMedia(media: ReadonlyMap<string, Media>, type: string): Media | undefined {
  const exact = media.get(type)
  if (exact) return exact
  const slash = type.indexOf('/')
  return (slash > 0 ? media.get(`${type.slice(0, slash)}/*`) : undefined) ?? media.get('*/*')
}
