import { z } from 'zod'
import { duration } from '../../config/units.js'
import { facetProblem } from '../../identity/facets.js'
import { action, method, mode, routePattern, ruleId } from '../common.js'
import { costProblem } from './cost.js'

const facet = z.string().check((ctx) => {
  const problem = facetProblem(ctx.value)
  if (problem)
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${problem}; got ${JSON.stringify(ctx.value)}`,
    })
})

/**
 * `cost: { field, paths, methods }` — a batch's operations counted by what they do: only the
 * items of the body's `field` list whose `pathField` matches one of `paths` (route patterns,
 * in the batch's own terms) and whose `methodField` is one of `methods`. A batch of reads then
 * costs nothing against an exports budget, and every export in it counts. An item that does not
 * say (not an object, no path, a path that cannot be read plainly) counts.
 */
export const CostItems = z
  .strictObject({
    field: z.string().regex(/^[^:\s]+$/, { error: 'expected a body field name' }),
    paths: z.array(routePattern).min(1).optional(),
    methods: z.array(method).min(1).optional(),
    pathField: z.string().min(1).default('path'),
    methodField: z.string().min(1).default('method'),
  })
  .check((ctx) => {
    if (!ctx.value.paths && !ctx.value.methods)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message:
          "expected paths, methods or both: which of the list's items count (for every item, write cost: field:NAME)",
      })
  })
export type CostItems = z.output<typeof CostItems>

/** `401`, `403`, or a class like `4xx`. */
const statusMatch = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]xx$/, {
    error: (i) =>
      `expected a status like 401 or a class like "4xx", got ${JSON.stringify(i.input)}`,
  }),
])

export const LimitRule = z
  .strictObject({
    id: ruleId,
    /** Route patterns the rule counts; none means every path. */
    paths: z.array(routePattern).default([]),
    methods: z.array(method).default([]),
    /** Facets whose combination is counted: `[account]`, `[ip, route]`, `[fingerprint]`. */
    key: z.array(facet).min(1),
    limit: z.number().int().positive(),
    window: duration.refine((ms) => ms >= 1, { message: 'expected a window of at least 1ms' }),
    algorithm: z.enum(['gcra', 'sliding-window']).default('sliding-window'),
    /** GCRA only: requests allowed at once (defaults to `limit`). */
    burst: z.number().int().positive().optional(),
    /**
     * What is counted: every `requests`; only `outcomes` whose upstream status matches (failed
     * logins); or `distinct` values of a facet per key (product ids per fingerprint).
     */
    count: z.enum(['requests', 'outcomes', 'distinct']).default('requests'),
    /** With `count: outcomes`: the statuses that count. */
    outcomes: z.array(statusMatch).optional(),
    /** With `count: distinct`: the facet whose distinct values are counted. */
    distinct: facet.optional(),
    /**
     * With `count: requests`: how many requests one request counts as, read from it — `field:NAME`
     * (a JSON body field: a list's length, an object's size, or the number given; a form field:
     * its copies), `body` (a JSON body that is a list: its length), `query:NAME` or
     * `header:NAME` (the number given). A batch of 20 operations counts 20; one larger than the
     * limit is always refused. Absent or empty: 1.
     */
    cost: z
      .union([
        z.string().check((ctx) => {
          const problem = costProblem(ctx.value)
          if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem })
        }),
        CostItems,
      ])
      .optional(),
    /**
     * Only requests without a valid device cookie (`missing`: first visits, and clients that
     * throw cookies away, as stuffing bots do), or only those with one (`present`); `untrusted`
     * adds devices younger than `identity.device.trustAfter` to the missing ones (a bot that
     * fetches a fresh cookie before each attempt), `trusted` is the rest; `unknown`: all but
     * requests from a device the request's account has used with success before (a 2xx on a
     * rule with `device: unknown`, remembered 90 days), so an attack on an account does not lock
     * its owner out of their own browser. Needs `identity.device` (`unknown`: and
     * `identity.account`). Unset: every request.
     */
    device: z.enum(['missing', 'present', 'untrusted', 'trusted', 'unknown']).optional(),
    /**
     * `unproven`: all but requests with an API key (`identity.apiKey`) that has had a 2xx on a
     * rule with `apiKey: unproven` (remembered 90 days), so a route-wide rule against key
     * guessing holds the guessers and never a working integration. Not with `device: unknown`.
     */
    apiKey: z.enum(['unproven']).optional(),
    /**
     * Only requests with (`true`) or without (`false`) a token the `auth` layer verified that
     * names an account. `false` spares signed-in users of apps that keep no cookies (never a
     * known device) from a rule meant for anonymous clients; a bot with accounts of its own is
     * then held by the per-account rules. Needs an `auth` rule covering the route.
     */
    signedIn: z.boolean().optional(),
    /**
     * Only requests without (`missing`) or with (`present`) a session (`identity.session`: a
     * cookie, or a header such as a bearer token). `missing` keeps a rule meant for anonymous
     * clients off an app's users, each with a token of its own counted by a per-session rule.
     */
    session: z.enum(['missing', 'present']).optional(),
    action: action.default('throttle'),
    status: z.number().int().min(400).max(599).optional(),
    mode: mode.optional(),
    /** When the store cannot be reached: let requests through, refuse them, or count locally. */
    onStoreError: z.enum(['open', 'closed', 'local']).default('local'),
  })
  .check((ctx) => {
    const r = ctx.value
    if (r.count === 'outcomes' && !r.outcomes?.length)
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['outcomes'],
        message: 'is required with count: outcomes (e.g. [401, 403])',
      })
    if (r.count === 'distinct' && !r.distinct)
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['distinct'],
        message: 'is required with count: distinct (e.g. param:id)',
      })
    if (r.count !== 'outcomes' && r.outcomes)
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['outcomes'],
        message: 'only applies with count: outcomes',
      })
    if (r.count !== 'requests' && r.cost)
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['cost'],
        message: 'only applies with count: requests',
      })
    if (r.count !== 'distinct' && r.distinct)
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['distinct'],
        message: 'only applies with count: distinct',
      })
    if (r.apiKey !== undefined && r.device === 'unknown')
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['apiKey'],
        message: 'cannot be combined with device: unknown (write two rules)',
      })
    if (r.burst !== undefined && r.algorithm !== 'gcra')
      ctx.issues.push({
        code: 'custom',
        input: r,
        path: ['burst'],
        message: 'only applies with algorithm: gcra',
      })
  })

/** `limits:` — behavioural rate limits keyed on any identity facet. */
export const LimitsSpec = z.strictObject({
  /**
   * RateLimit / RateLimit-Policy headers: on `denied` answers only (the default: a bot is not
   * told how much quota it has left to pace itself by), on `all` answers, or `none`.
   */
  headers: z.enum(['denied', 'all', 'none']).default('denied'),
  rules: z.array(LimitRule).default([]),
})
export type LimitsSpec = z.output<typeof LimitsSpec>
export type LimitRuleSpec = z.output<typeof LimitRule>
