import { z } from 'zod'
import { action, method, mode, routePattern, ruleId } from '../common.js'
import { cidrProblem } from '../../request/client.js'

const cidr = z.string().check((ctx) => {
  const problem = cidrProblem(ctx.value)
  if (problem)
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `expected an IP or CIDR like "10.0.0.0/8", got ${JSON.stringify(ctx.value)}`,
    })
})

export const AccessRule = z
  .strictObject({
    id: ruleId,
    /** Route patterns the rule applies to; none means every path. */
    paths: z.array(routePattern).default([]),
    methods: z.array(method).default([]),
    /** The rule matches clients in these networks… */
    from: z.array(cidr).default([]),
    /** …or clients outside these (an allow-list: "admin only from the office"). */
    notFrom: z.array(cidr).default([]),
    action: action.default('block'),
    status: z.number().int().min(400).max(599).optional(),
    mode: mode.optional(),
  })
  .refine((r) => !(r.from.length && r.notFrom.length), {
    message: 'use either "from" or "notFrom" in one rule, not both',
  })

/** `access:` — static allow and deny rules by path, method and client network. */
export const AccessSpec = z.strictObject({ rules: z.array(AccessRule).default([]) })
export type AccessSpec = z.infer<typeof AccessSpec>
