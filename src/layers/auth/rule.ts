/**
 * One `auth.rules[]` entry compiled: its requirements as closures, its `WWW-Authenticate`
 * challenges built once, and the check of a verified token against it (issuers, scopes, claims,
 * step-up, in that order). TOTP is run by the layer, once per request.
 * @see ../../../docs/auth.md#authrules
 */
import type { HeaderMap, LayerDeps, RequestContext, Verdict } from '../../engine/types.js'
import { compileRoutes, type RouteHit, type RouteMatcher } from '../../request/routes.js'
import { bearerChallenge, type ChallengeParams } from './challenge.js'
import { compileClaim, type ClaimCheck } from './claims.js'
import { grantedScopes, missingScopes } from './scopes.js'
import type { AuthRuleSpec } from './spec.js'
import { stepUpCheck, type StepUpCheck } from './step-up.js'
import type { VerifiedToken } from './verify.js'

/** One compiled `auth.rules[]` entry, with its challenges built once. */
export interface Rule {
  readonly name: string
  readonly monitor: boolean
  readonly authenticated: boolean
  readonly scopes: readonly string[]
  readonly claims: readonly ClaimCheck[]
  readonly usesParams: boolean
  readonly issuers: ReadonlySet<string> | undefined
  readonly stepUp: StepUpCheck | undefined
  readonly totp: boolean
  readonly forward: readonly (readonly [claim: string, header: string])[]
  /** `except:` — paths the rule leaves out, matched like `paths` (any method). */
  readonly except: RouteMatcher<true> | undefined
  readonly challenge: {
    readonly missing: HeaderMap
    readonly invalidRequest: HeaderMap
    readonly invalidToken: HeaderMap
    readonly scope: HeaderMap
    readonly stepUp: HeaderMap
    readonly totp: HeaderMap
  }
}

/**
 * @example
 * const rule = compileRule(spec.rules[0], spec.realm, deps)
 * ruleFailure(rule, token, hit, ctx, clock.now()) // undefined, or a 403 / 401 verdict
 */
export function compileRule(r: AuthRuleSpec, realm: string | undefined, deps: LayerDeps): Rule {
  const scopes = r.require.scopes
  const stepUp = r.stepUp && !('totp' in r.stepUp) ? r.stepUp : undefined
  const base: ChallengeParams = realm === undefined ? {} : { realm }
  const scope = scopes.length ? { scope: scopes.join(' ') } : {}
  const www = (p: ChallengeParams): HeaderMap => ({ 'www-authenticate': bearerChallenge(p) })
  return {
    name: `auth.${r.id}`,
    monitor: (r.mode ?? deps.mode) === 'monitor',
    authenticated: r.require.authenticated,
    scopes,
    claims: Object.entries(r.require.claims).map(([name, expr]) => compileClaim(name, expr)),
    usesParams: Object.values(r.require.claims).some(
      (e) => typeof e === 'object' && !Array.isArray(e),
    ),
    issuers: r.issuers && new Set(r.issuers),
    stepUp: stepUp && stepUpCheck(stepUp),
    totp: r.stepUp !== undefined && 'totp' in r.stepUp,
    forward: Object.entries(r.forwardClaims),
    except: r.except.length
      ? compileRoutes([{ paths: r.except, value: true as const }], deps.foldCase ?? true)
      : undefined,
    challenge: {
      missing: www({ ...base, ...scope }),
      invalidRequest: www({ ...base, error: 'invalid_request' }),
      invalidToken: www({ ...base, error: 'invalid_token' }),
      scope: www({ ...base, error: 'insufficient_scope', ...scope }),
      stepUp: www({
        ...base,
        error: 'insufficient_user_authentication',
        errorDescription: 'a stronger or more recent authentication is required',
        ...(stepUp?.acr ? { acrValues: stepUp.acr.join(' ') } : {}),
        ...(stepUp?.maxAge !== undefined ? { maxAge: Math.floor(stepUp.maxAge / 1000) } : {}),
      }),
      totp: www({
        ...base,
        error: 'insufficient_user_authentication',
        errorDescription: 'a current TOTP code is required',
      }),
    },
  }
}

/** Why the token does not satisfy the rule, as a verdict; undefined when it does. */
export function ruleFailure(
  rule: Rule,
  token: VerifiedToken,
  hit: RouteHit<number>,
  ctx: RequestContext,
  now: number,
): Verdict | undefined {
  if (rule.issuers && !rule.issuers.has(token.issuer))
    return refuse(
      rule,
      'block',
      401,
      `invalid token: issuer ${JSON.stringify(token.issuer)} is not accepted here`,
      rule.challenge.invalidToken,
      { error: 'invalid_token' },
    )
  if (rule.scopes.length) {
    const missing = missingScopes(rule.scopes, (token.scopes ??= grantedScopes(token.claims)))
    if (missing.length)
      return refuse(
        rule,
        'block',
        403,
        `token lacks scope ${missing.join(' ')}`,
        rule.challenge.scope,
        {
          error: 'insufficient_scope',
        },
      )
  }
  if (rule.claims.length) {
    const params = rule.usesParams ? pathParams(hit.template, ctx.path) : hit.params
    for (const check of rule.claims) {
      const why = check(token.claims, params)
      if (why) return refuse(rule, 'block', 403, why)
    }
  }
  if (rule.stepUp) {
    const why = rule.stepUp(token.claims, now)
    if (why)
      return refuse(rule, 'challenge', 401, `step-up required: ${why}`, rule.challenge.stepUp, {
        error: 'insufficient_user_authentication',
      })
  }
  return undefined
}

/** A refusal under `rule`'s name and mode. */
export function refuse(
  rule: Rule,
  action: Verdict['action'],
  status: number,
  reason: string,
  headers?: HeaderMap,
  data?: Record<string, unknown>,
): Verdict {
  return {
    action,
    rule: rule.name,
    reason,
    monitor: rule.monitor,
    status,
    ...(headers ? { headers } : {}),
    ...(data ? { data } : {}),
  }
}

/** The rule a request-wide refusal (bad token) is reported under: the first enforced one. */
export function leader(rules: readonly Rule[]): Rule {
  return rules.find((r) => !r.monitor) ?? rules[0]!
}

/**
 * Route parameters read from the canonical path, not the case-folded match key: a tenant
 * compared with `ACME` must be `ACME`, the segment the upstream will see.
 */
function pathParams(template: string, path: string): Record<string, string> {
  const t = template.split('/')
  const p = path.split('/')
  const out: Record<string, string> = {}
  for (let i = 0; i < t.length; i++) if (t[i]!.startsWith(':')) out[t[i]!.slice(1)] = p[i] ?? ''
  return out
}
