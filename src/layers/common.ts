/**
 * Pieces every layer's config shares: how a rule says which requests it applies to, its id,
 * action and mode. Kept here so `limits`, `access`, `deception`… read the same way in YAML.
 */
import { z } from 'zod'
import { ACTIONS } from '../engine/types.js'
import { patternProblem } from '../request/routes.js'

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export const method = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(
    z.enum(HTTP_METHODS, {
      error: (i) =>
        `expected an HTTP method (${HTTP_METHODS.join(', ')}), got ${JSON.stringify(i.input)}`,
    }),
  )

export const routePattern = z.string().check((ctx) => {
  const problem = patternProblem(ctx.value)
  if (problem)
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `expected a route pattern like "/api/products/:id" or "/api/*", got ${JSON.stringify(ctx.value)}: ${problem}`,
    })
})

export const ruleId = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, {
  error: (i) =>
    `expected an id of letters, digits, "-", "_" or ".", got ${JSON.stringify(i.input)}`,
})

export const action = z.enum(ACTIONS)
export const mode = z.enum(['enforce', 'monitor'])
