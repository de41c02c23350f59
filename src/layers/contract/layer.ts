/**
 * The `contract` layer: holds every request to the API's own OpenAPI contract before the backend
 * sees it. A method or path the contract does not describe is answered like an unknown route
 * (or monitored, or its client flagged); a request that breaks its operation's schemas gets a
 * 400 problem document naming the field and the rule, and a `tampering` signal for the risk
 * score. Documents compile once at `create()`; a request costs one trie walk and, where the
 * operation has something to check, one call of a compiled validator.
 * @see ../../../docs/contract.md
 */
import type { HeaderMap, Layer, LayerDeps, RequestContext, Verdict } from '../../engine/types.js'
import { FLAG_FACETS, flagIdentity, identityFlagKeys } from '../../identity/flags.js'
import { only } from '../deception/flag-client.js'
import { compileRoutes, type RouteHit } from '../../request/routes.js'
import { notice } from '../../telemetry/channels.js'
import { corsHeadersOf } from '../cors/answer-headers.js'
import type { LayerType } from '../layer-type.js'
import { compileContract, type Documented, type PathEntry } from './compile.js'
import type { Credentials } from './credentials.js'
import type { Operation } from './operation.js'
import { pathValues } from './path-template.js'
import { describeViolation, listed, PROBLEM_TYPE, problemBody } from './problem.js'
import { ContractSpec } from './spec.js'
import { requestValidator, type Refusal } from './validate-request.js'

export const contract: LayerType<ContractSpec> = {
  type: 'contract',
  spec: ContractSpec,
  create(spec, deps: LayerDeps): Layer {
    // Relative paths: against the config file's directory once the loader passes it.
    const baseDir = deps.configDir ?? process.cwd()
    const c = compileContract(spec, baseDir)
    if (c.warnings.length)
      notice({
        kind: 'contract-warning',
        level: 'warn',
        msg: `contract: ${c.warnings.length} schema keyword(s) ignored`,
        warnings: c.warnings.slice(0, 20),
      })
    const monitor = (spec.mode ?? deps.mode) === 'monitor'
    const undocumentedMonitor = monitor || spec.undocumented === 'monitor'
    const flagging = spec.undocumented === 'flag' && !undocumentedMonitor
    const keep =
      spec.flagFacets.length === FLAG_FACETS.length ? undefined : new Set(spec.flagFacets)
    const exempt = spec.exempt.length
      ? compileRoutes([{ paths: spec.exempt, value: true }], true)
      : undefined
    const fingerprint = deps.facets.getter('fingerprint')
    const { store, clock } = deps
    const validate = requestValidator(spec)

    function undocumented(
      ctx: RequestContext,
      method: string,
      entry: PathEntry | undefined,
      nearMiss: RouteHit<PathEntry> | undefined,
    ): Verdict {
      const asked = `${method} ${ctx.path}`
      const reason = entry
        ? `${asked}: method not in the contract (documented: ${entry.allow})`
        : nearMiss
          ? `${asked}: path not in the contract (differs in case from ${nearMiss.value.template})`
          : `${asked}: path not in the contract`
      const answer = entry ? spec.methodNotAllowed : spec.notFound
      const headers: Record<string, string> = {}
      if (answer.body !== undefined) headers['content-type'] = answer.contentType
      if (entry) headers.allow = entry.allow
      // What a browser asks for on its own (an icon, DevTools' probe) is no client's doing:
      // answered like any undocumented path, but neither flagged nor a signal.
      const own = browserMade(method, ctx.pathKey)
      const flagged = flagging && !own ? flag(ctx, reason) : undefined
      return {
        action: 'block',
        rule: 'contract.undocumented',
        reason,
        monitor: undocumentedMonitor,
        status: answer.status,
        headers,
        ...(answer.body !== undefined ? { body: answer.body } : {}),
        data: {
          signal: 'undocumented',
          weight: own ? 0 : spec.signals.undocumented,
          method,
          path: ctx.path,
          ...(flagged ? { flagged } : {}),
        },
      }
    }

    /**
     * Flags every facet of the client (IP, fingerprint, and account or session when known), in
     * the one flag format (src/identity/flags.ts), without making the request wait for the store.
     */
    function flag(ctx: RequestContext, reason: string): string[] {
      fingerprint(ctx) // computed on demand: make sure it is part of the identity
      const failed = (err: unknown) =>
        notice({
          kind: 'store-error',
          level: 'error',
          msg: 'contract: could not flag a client',
          error: String((err as Error)?.message ?? err),
        })
      try {
        const r = flagIdentity(
          store,
          keep ? only(ctx.identity, keep) : ctx.identity,
          'contract.undocumented',
          reason,
          spec.flagTtl,
          clock.now(),
          ctx.identity,
        )
        if (r instanceof Promise) r.catch(failed)
      } catch (err) {
        failed(err)
      }
      return identityFlagKeys(keep ? only(ctx.identity, keep) : ctx.identity)
    }

    function refused(ctx: RequestContext, op: Operation, r: Refusal): Verdict {
      const cors = corsHeadersOf(ctx)
      const headers: HeaderMap = cors
        ? { ...cors, 'content-type': PROBLEM_TYPE }
        : { 'content-type': PROBLEM_TYPE }
      return {
        action: 'block',
        rule: 'contract.invalid',
        reason: `${op.id}: ${r.violations.slice(0, 3).map(describeViolation).join('; ')}`,
        monitor,
        status: r.status,
        headers,
        body: problemBody(r.status, r.violations),
        data: {
          signal: 'tampering',
          weight: spec.signals.tampering,
          operation: op.id,
          errors: listed(r.violations),
        },
      }
    }

    /** A secured operation asked without any credential it names: 401, as the backend would. */
    function uncredentialed(ctx: RequestContext, op: Operation, c: Credentials): Verdict {
      // The CORS answer headers too, so a browser app can read the 401 and sign in again.
      const headers: Record<string, string> = {
        ...corsHeadersOf(ctx),
        'content-type': PROBLEM_TYPE,
      }
      if (c.challenge !== undefined) headers['www-authenticate'] = c.challenge
      return {
        action: 'block',
        rule: 'contract.credentials',
        reason: `${op.id}: no credentials (the document asks for ${c.described})`,
        monitor,
        status: 401,
        headers,
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          detail: 'This operation needs credentials.',
        }),
        data: { operation: op.id },
      }
    }

    const layer: ContractLayer = {
      name: 'contract',
      documented: c.documented,
      describe(ctx) {
        if (ctx.documented !== undefined) return
        if (exempt && exempt.best(ctx.method, ctx.pathKey)) return
        const hit = c.matcher.best(ctx.method, spec.caseSensitive ? ctx.path : ctx.pathKey)
        const op =
          hit?.value.ops.get(ctx.method) ??
          (ctx.method === 'HEAD' ? hit?.value.ops.get('GET') : undefined)
        if (!hit || !op) return
        const path = pathValues(op.pathParams, hit.params)
        if (path) ctx.documented = { template: hit.template, params: path, fake: op.fake }
      },
      check: function contractCheck(ctx) {
        if (exempt && exempt.best(ctx.method, ctx.pathKey)) return undefined
        // A CORS preflight asks about the method it names; the cors layer answers it.
        const acrm = ctx.headers['access-control-request-method']
        const preflight =
          ctx.method === 'OPTIONS' && ctx.headers.origin !== undefined && typeof acrm === 'string'
        const method = preflight ? acrm.trim().toUpperCase() : ctx.method
        const hit = c.matcher.best(method, spec.caseSensitive ? ctx.path : ctx.pathKey)
        if (!hit) return undocumented(ctx, method, undefined, c.folded?.best(method, ctx.pathKey))
        const entry = hit.value
        const op = entry.ops.get(method) ?? (method === 'HEAD' ? entry.ops.get('GET') : undefined)
        if (!op) return undocumented(ctx, method, entry, undefined)
        const path = pathValues(op.pathParams, hit.params)
        if (!path) return undocumented(ctx, method, undefined, undefined)
        ctx.documented = { template: hit.template, params: path, fake: op.fake }
        if (preflight) return undefined
        if (op.credentials !== undefined && !op.credentials.met(ctx))
          return uncredentialed(ctx, op, op.credentials)
        const r = validate(ctx, op, path)
        if (r instanceof Promise) return r.then((v) => v && refused(ctx, op, v))
        return r && refused(ctx, op, r)
      },
    }
    return layer
  },
}

/** The contract layer also tells which paths its documents describe (for config checks). */
export interface ContractLayer extends Layer {
  /** Documented paths as route patterns (base path included) and their parameters' names. */
  readonly documented: Documented
  /**
   * Sets `ctx.documented` when the documents describe the request, without checking it: for a
   * trap's fake (deception runs before the contract) to be shaped like the route's success.
   */
  describe(ctx: RequestContext): void
}

/**
 * Requests browsers make by themselves, whatever page or API they are on: the site icon (and
 * Apple's touch icons), password managers' `/.well-known/change-password`, and Chrome DevTools'
 * project probe. A person's browser sends them, so
 * they say nothing about the client.
 */
const BROWSER_MADE =
  /^\/(?:favicon\.ico|apple-touch-icon(?:-\d+x\d+)?(?:-precomposed)?\.png|\.well-known\/(?:change-password|appspecific\/com\.chrome\.devtools\.json))$/

function browserMade(method: string, pathKey: string): boolean {
  return (method === 'GET' || method === 'HEAD') && BROWSER_MADE.test(pathKey.toLowerCase())
}
