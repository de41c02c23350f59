/**
 * The `cors:` block: a CORS policy per route, enforced at the edge.
 * @see ../../../docs/contract.md#cors
 */
import { z } from 'zod'
import { duration } from '../../config/units.js'
import { mode, routePattern, ruleId } from '../common.js'
import { originProblem } from './origins.js'

const origin = z
  .string({
    // YAML reads a bare `null` as no value: say so rather than "expected a string".
    error: (i) =>
      i.input === null
        ? 'expected an origin like "https://shop.example", got null (a bare null in YAML is no value; the "null" origin itself is never allowed: any page can send it)'
        : undefined,
  })
  .check((ctx) => {
    const problem = originProblem(ctx.value)
    if (problem)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected an origin like "https://shop.example" or "https://*.shop.example", got ${JSON.stringify(ctx.value)}: ${problem}`,
      })
  })

const token = z.string().regex(/^(\*|[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/, {
  error: (i) => `expected an HTTP token like "Content-Type" or "*", got ${JSON.stringify(i.input)}`,
})

export const CorsRule = z
  .strictObject({
    /** Names the rule in events (`cors.ID`); default: its position. */
    id: ruleId.optional(),
    /** Route patterns the policy covers; none means every path. */
    paths: z.array(routePattern).default([]),
    /**
     * Origins allowed to read answers: exact (`https://shop.example`), one subdomain level
     * (`https://*.shop.example`), any port (`http://localhost:*`), or `*` (any origin, answered
     * with a literal `*`, never with credentials). An origin is never reflected unless listed.
     */
    origins: z.array(origin).default([]),
    methods: z.array(token).default(['GET', 'HEAD', 'POST']),
    /** Request headers a page may send (`*` for any, not with credentials). */
    headers: z.array(token).default([]),
    /** Response headers a page may read beyond the CORS-safelisted ones. */
    exposeHeaders: z.array(token).default([]),
    /** Cookies and Authorization may be sent, and answers read with them. */
    credentials: z.boolean().default(false),
    /** How long a browser may cache a preflight's answer. */
    maxAge: duration.default(600_000),
    mode: mode.optional(),
  })
  .check((ctx) => {
    const r = ctx.value
    if (!r.credentials) return
    for (const key of ['origins', 'methods', 'headers', 'exposeHeaders'] as const)
      if (r[key].includes('*'))
        ctx.issues.push({
          code: 'custom',
          input: r[key],
          path: [key],
          message: `"*" cannot be used with credentials: true (browsers read it literally); list the ${key} instead`,
        })
  })

/** `cors:` — CORS policies per route, answered and enforced by Bulwark, not the backend. */
export const CorsSpec = z.strictObject({ rules: z.array(CorsRule).default([]) })
export type CorsSpec = z.output<typeof CorsSpec>
export type CorsRuleSpec = z.output<typeof CorsRule>
