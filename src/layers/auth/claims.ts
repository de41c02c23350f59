/**
 * Claim requirements (`require.claims`), compiled once: `role: admin` (equal; an array claim
 * must contain it), `plan: [pro, team]` (any of), `tenant: { param: tenant }` (equal to the
 * route parameter, so a token for one tenant cannot reach another's URLs).
 */
import type { JWTPayload } from 'jose'
import type { ClaimExpr } from './spec.js'

/** Undefined when the claim satisfies the requirement, else why not (for the verdict). */
export type ClaimCheck = (
  claims: JWTPayload,
  params: Readonly<Record<string, string>>,
) => string | undefined

/**
 * A claim's value: the literal name first (`https://example.com/roles` is one claim), then a
 * dotted path into objects (`realm_access.roles`).
 * @example claimValue({ realm_access: { roles: ['admin'] } }, 'realm_access.roles') // ['admin']
 */
export function claimValue(claims: JWTPayload, name: string): unknown {
  const direct = claims[name]
  if (direct !== undefined || !name.includes('.')) return direct
  let v: unknown = claims
  for (const part of name.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

type Scalar = string | number | boolean

/** Strings and numbers compare as text (`tenant: 42` matches `"42"`); booleans only as booleans. */
function same(actual: unknown, expected: Scalar): boolean {
  if (typeof expected === 'boolean' || typeof actual === 'boolean') return actual === expected
  return (
    (typeof actual === 'string' || typeof actual === 'number') &&
    String(actual) === String(expected)
  )
}

function matches(actual: unknown, expected: Scalar): boolean {
  return Array.isArray(actual) ? actual.some((a) => same(a, expected)) : same(actual, expected)
}

/**
 * @example
 * const check = compileClaim('role', 'admin')
 * check({ role: 'customer' }, {}) // 'claim role is not "admin"'
 */
export function compileClaim(name: string, expr: ClaimExpr): ClaimCheck {
  if (Array.isArray(expr)) {
    const text = `one of ${expr.map((e) => JSON.stringify(e)).join(', ')}`
    return (claims) =>
      expr.some((e) => matches(claimValue(claims, name), e))
        ? undefined
        : `claim ${name} is not ${text}`
  }
  if (typeof expr === 'object') {
    const param = expr.param
    return (claims, params) => {
      const want = params[param]
      return want !== undefined && matches(claimValue(claims, name), want)
        ? undefined
        : `claim ${name} does not match the :${param} in the path`
    }
  }
  const text = JSON.stringify(expr)
  return (claims) =>
    matches(claimValue(claims, name), expr) ? undefined : `claim ${name} is not ${text}`
}
