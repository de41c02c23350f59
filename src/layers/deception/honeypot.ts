/**
 * Honeypot routes: paths no person ever asks for (`/.env`, `/api/v1/admin/dashboard`), matched
 * on the canonical path's key, case-folded whatever `server.pathCase` says — so case, slash,
 * encoding and dot-segment variants (`/.ENV/`, `//%2eenv`, `/x/../.env`) trip them all. A hit is
 * never forwarded.
 * @see ../../../docs/deception.md#honeypot-routes
 */
import type { RequestContext } from '../../engine/types.js'
import { compileRoutes, lowerKey } from '../../request/routes.js'
import type { Trap } from './trap.js'

export interface HoneypotRoute {
  readonly paths: readonly string[]
  readonly methods: readonly string[]
}

/**
 * Compiles the honeypots into one trie walk per request.
 * @example
 * const honeypot = compileHoneypots([{ paths: ['/.env'], methods: [] }], [envTrap])
 * honeypot(ctx) // envTrap for GET /.ENV/
 */
export function compileHoneypots(
  routes: readonly HoneypotRoute[],
  traps: readonly Trap[],
): (ctx: RequestContext) => Trap | undefined {
  if (routes.length === 0) return () => undefined
  const matcher = compileRoutes(
    routes.map((h, i) => ({ paths: h.paths, methods: h.methods, value: i })),
    true,
  )
  return function honeypot(ctx) {
    const hit = matcher.best(ctx.method, lowerKey(ctx.pathKey))
    return hit === undefined ? undefined : traps[hit.value]
  }
}
