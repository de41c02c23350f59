/**
 * The `auth` layer: an identity-aware proxy's checks at the edge. On routes an auth rule
 * guards, the bearer token must verify (verify.ts), carry the rule's scopes and claims, and,
 * on critical routes, show a recent strong authentication (RFC 9470) or a TOTP code. Refusals
 * follow RFC 6750: 400 `invalid_request`, 401 `invalid_token`, 403 `insufficient_scope`, 401
 * `insufficient_user_authentication` (a `challenge`). The verified `sub` becomes the `account`
 * facet (limits run after this layer), and chosen claims go upstream as headers.
 *
 * A request without a token on a route no rule guards is not looked at; on a rule with
 * `authenticated: false` a token is optional, but an invalid one is refused.
 * @see ../../../docs/auth.md
 */
import type { Layer, LayerDeps, MaybePromise, RequestContext, Verdict } from '../../engine/types.js'
import { canonicalAccount } from '../../identity/facets.js'
import { preflightAnswered } from '../cors/answer-headers.js'
import { compileRoutes, type RouteHit } from '../../request/routes.js'
import type { LayerType } from '../layer-type.js'
import { bearerReader } from './bearer.js'
import { claimValue } from './claims.js'
import { compileRule, leader, refuse, ruleFailure, type Rule } from './rule.js'
import { AuthSpec } from './spec.js'
import { totpGuard, type TotpEnrolment, type TotpResult } from './totp.js'
import { tokenVerifier, type Verification } from './verify.js'

/** `ctx.locals` key of the verified token's claims, for later layers. */
export const CLAIMS = 'auth.claims'

/** The compiled layer, with the TOTP enrolment the admin API calls (see enroll-totp.ts). */
export interface AuthLayer extends Layer {
  readonly name: 'auth'
  /** Enrols an account in TOTP (undefined without an `auth.totp` block). */
  readonly enrollTotp: ((account: string) => Promise<TotpEnrolment>) | undefined
}

const UNAVAILABLE = Object.freeze({ error: 'temporarily_unavailable' })
const NO_HITS: readonly RouteHit<number>[] = Object.freeze([])

/**
 * The `auth` layer type (YAML key `auth`), listed in registry.ts between `access` and `limits`.
 * @example
 * const layer = auth.create(AuthSpec.parse({ issuers: [...], rules: [...] }), deps)
 * layer.check(ctx) // undefined, a verdict, or a promise of one (uncached token, TOTP)
 */
export const auth: LayerType<AuthSpec> = {
  type: 'auth',
  spec: AuthSpec,
  create(spec, deps: LayerDeps): AuthLayer {
    const { clock, store } = deps
    const realm = spec.realm
    const rules: Rule[] = spec.rules.map((r) => compileRule(r, realm, deps))
    const matcher = compileRoutes(
      spec.rules.map((r, i) => ({
        paths: r.paths.length ? r.paths : ['/*'],
        methods: r.methods,
        value: i,
      })),
      deps.foldCase ?? true,
    )
    const excepting = rules.some((r) => r.except !== undefined)
    /** The hits minus rules whose `except:` names the request's path. */
    function withoutExcepted(
      hits: readonly RouteHit<number>[],
      ctx: RequestContext,
    ): readonly RouteHit<number>[] {
      let out: RouteHit<number>[] | undefined
      for (let i = 0; i < hits.length; i++) {
        const except = rules[hits[i]!.value]!.except
        const left = except !== undefined && except.best(ctx.method, ctx.pathKey) !== undefined
        if (left) out ??= hits.slice(0, i) as RouteHit<number>[]
        else out?.push(hits[i]!)
      }
      return out ?? hits
    }
    const credentials = bearerReader(spec.token)
    const verify = tokenVerifier(spec, clock)
    const totp = spec.totp ? totpGuard(spec.totp, store) : undefined
    // Headers only the gateway may set upstream: a client's own copy is always removed.
    const reserved = [
      ...new Set([
        ...rules.flatMap((r) => r.forward.map(([, h]) => h)),
        ...(spec.totp ? [spec.totp.header] : []),
      ]),
    ]

    function stripped(ctx: RequestContext): Record<string, string> | undefined {
      let out: Record<string, string> | undefined
      for (const h of reserved) if (ctx.headers[h] !== undefined) (out ??= {})[h] = ''
      return out
    }

    function judge(
      ctx: RequestContext,
      hits: readonly RouteHit<number>[],
      v: Verification,
      upstream: Record<string, string> | undefined,
    ): MaybePromise<Verdict | readonly Verdict[] | undefined> {
      if (!v.ok) {
        share(ctx, upstream)
        // A genuine token past its lifetime where every rule makes a token optional: the
        // client is anonymous, as without one (apps keep sending theirs on public pages until
        // they refresh it). A made-up or forged token is still refused: it would otherwise be
        // a new identity with every request.
        if (v.expired && hits.every((h) => !rules[h.value]!.authenticated)) return undefined
        const lead = leader(hits.map((h) => rules[h.value]!))
        return v.error === 'unavailable'
          ? refuse(lead, 'block', 503, `cannot verify tokens: ${v.reason}`, undefined, UNAVAILABLE)
          : refuse(
              lead,
              'block',
              401,
              `invalid token: ${v.reason}`,
              lead.challenge.invalidToken,
              // A forged token is tampering (the behaviour layer's signal); an expired one is not.
              v.forged
                ? { error: 'invalid_token', signal: 'tampering' }
                : { error: 'invalid_token' },
            )
      }
      const token = v.token
      const claims = token.claims
      const sub = typeof claims.sub === 'string' ? claims.sub : undefined
      if (sub !== undefined) {
        ctx.identity.account = canonicalAccount(sub)
        ctx.identity.accountAsSent = sub
        ctx.identity.accountVerified = ctx.identity.account !== undefined
      }
      ctx.locals.set(CLAIMS, claims)
      const now = clock.now()
      const verdicts: Verdict[] = []
      let totpRule: Rule | undefined
      for (const h of hits) {
        const rule = rules[h.value]!
        for (const [claim, header] of rule.forward)
          (upstream ??= {})[header] = headerValue(claimValue(claims, claim))
        const failed = ruleFailure(rule, token, h, ctx, now)
        if (failed) verdicts.push(failed)
        else if (rule.totp) totpRule ??= rule
      }
      share(ctx, upstream)
      // A code is spent only on a request nothing else refuses.
      if (!totpRule || verdicts.some((x) => !x.monitor))
        return verdicts.length ? verdicts : undefined
      const rule = totpRule
      if (sub === undefined)
        return [...verdicts, refuse(rule, 'block', 403, 'TOTP needs a token with a sub')]
      const code = ctx.headers[spec.totp!.header]
      return totp!.check(sub, typeof code === 'string' ? code : undefined, now).then((r) => {
        const t = totpVerdict(rule, sub, r)
        return t ? [...verdicts, t] : verdicts.length ? verdicts : undefined
      })
    }

    return {
      name: 'auth',
      enrollTotp: totp && ((account) => totp.enroll(account, clock.now())),
      check: function authCheck(ctx) {
        const upstream = stripped(ctx)
        // An allowed CORS preflight is answered at the edge and carries no credentials by design.
        const hits = preflightAnswered(ctx)
          ? NO_HITS
          : excepting
            ? withoutExcepted(matcher.allHits(ctx.method, ctx.pathKey), ctx)
            : matcher.allHits(ctx.method, ctx.pathKey)
        if (hits.length === 0) {
          share(ctx, upstream)
          return undefined
        }
        const c = credentials(ctx)
        if (c.kind === 'token') {
          const v = verify(c.token)
          return v instanceof Promise
            ? v.then((r) => judge(ctx, hits, r, upstream))
            : judge(ctx, hits, v, upstream)
        }
        share(ctx, upstream)
        const matched = hits.map((h) => rules[h.value]!)
        if (c.kind === 'invalid') {
          const lead = leader(matched)
          return refuse(lead, 'block', 400, c.reason, lead.challenge.invalidRequest, {
            error: 'invalid_request',
          })
        }
        const needing = matched.filter((r) => r.authenticated)
        if (needing.length === 0) return undefined
        const lead = leader(needing)
        return refuse(lead, 'block', 401, 'no bearer token', lead.challenge.missing)
      },
    }

    function totpVerdict(rule: Rule, sub: string, r: TotpResult): Verdict | undefined {
      const who = `account ${JSON.stringify(sub)}`
      switch (r.kind) {
        case 'ok':
          return undefined
        case 'missing':
          return refuse(rule, 'challenge', 401, `${who}: TOTP code required`, rule.challenge.totp)
        case 'wrong':
        case 'replayed':
          return refuse(
            rule,
            'challenge',
            401,
            `${who}: ${r.kind === 'wrong' ? 'wrong' : 'already used'} TOTP code (${r.failures} of ${spec.totp!.maxFailures} failures)`,
            rule.challenge.totp,
            { failures: r.failures },
          )
        case 'locked':
          return refuse(
            rule,
            'throttle',
            429,
            `${who}: too many wrong TOTP codes`,
            { 'retry-after': String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) },
            { retryAfterMs: r.retryAfterMs },
          )
        case 'not-enrolled':
          return refuse(rule, 'block', 403, `${who}: no TOTP enrolment`)
        case 'unavailable':
          return refuse(rule, 'block', 503, `TOTP state unavailable: ${r.reason}`)
      }
    }
  },
}

/** Adds this layer's upstream header changes to the request's (other layers may add theirs). */
function share(ctx: RequestContext, headers: Record<string, string> | undefined): void {
  if (!headers) return
  ctx.upstreamHeaders = ctx.upstreamHeaders
    ? Object.assign(ctx.upstreamHeaders, headers)
    : { ...headers }
}

/**
 * A claim as a header value: strings as they are, lists joined with ", ", objects as JSON;
 * anything outside printable ASCII percent-encoded. A missing claim removes the header ('').
 */
function headerValue(v: unknown): string {
  if (v === undefined || v === null) return ''
  const s =
    typeof v === 'string'
      ? v
      : Array.isArray(v) && v.every((x) => typeof x !== 'object')
        ? v.join(', ')
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v)
  return /^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s)
}
