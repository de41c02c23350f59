/**
 * The `limits` layer: behavioural rate limits keyed on any identity facet, counting requests,
 * outcomes (failed logins, counted after the upstream answered) or distinct values (product
 * ids per fingerprint). Rules compile once; a request runs only the rules whose routes match.
 * @see ../../../README.md#limits
 */
import type {
  FacetValues,
  Identity,
  Layer,
  LayerDeps,
  MaybePromise,
  Outcome,
  RequestContext,
  Verdict,
} from '../../engine/types.js'
import { Refusal, type FacetGetter, type FacetValue } from '../../identity/facets.js'
import { compileRoutes } from '../../request/routes.js'
import { MemoryStore } from '../../store/memory.js'
import {
  firstStep,
  type Limit,
  type LimitResult,
  type LimitStep,
  type StepResult,
  type Store,
} from '../../store/store.js'
import { notice } from '../../telemetry/channels.js'
import type { LayerType } from '../layer-type.js'
import { costItems, costReader, describeCost, type CostReader } from './cost.js'
import { rateLimitHeaders } from './headers.js'
import { LimitsSpec, type LimitRuleSpec } from './spec.js'
import { OrderedMap } from '../../store/ordered-map.js'
import { KeyCache } from '../../store/key-cache.js'

interface Rule {
  readonly spec: LimitRuleSpec
  readonly name: string
  readonly limit: Limit
  readonly monitor: boolean
  readonly key: readonly FacetGetter[]
  readonly distinct: FacetGetter | undefined
  /** `cost:` — how many requests a request counts as; undefined: 1. */
  readonly cost: CostReader | undefined
  readonly counts: ((status: number) => boolean) | undefined
  /** `device:` — which requests the rule counts, by their device cookie; undefined: all. */
  readonly device: ((id: Identity) => boolean) | undefined
  /** `device: unknown`: the account facet, to skip devices known to the request's account. */
  readonly knownTo: FacetGetter | undefined
  /** `apiKey: unproven`: the API key facet, to skip keys proven good. */
  readonly provenKey: FacetGetter | undefined
  /** Only requests with (true) or without (false) a verified token naming an account. */
  readonly signedIn: boolean | undefined
  /** `session:` — the session facet, and whether the rule counts requests with one. */
  readonly session: { readonly of: FacetGetter; readonly present: boolean } | undefined
  /** `id|value|value…` per facet values, built once per client (see {@link KeyCache}). */
  readonly keys: KeyCache<string>
}

/** A key over its limit, answered from memory until `until`. */
interface Blocked {
  readonly until: number
  readonly result: LimitResult
  verdict: Verdict
  builtAt: number
}

/**
 * A rule's store step for one request, waiting to run: alone, or with the request's other
 * rules in one {@link Store.batch} (one Redis round trip however many rules match).
 */
class Pending implements LimitStep {
  readonly rule: Rule
  readonly op: LimitStep['op']
  readonly key: string
  readonly limit: Limit
  readonly member: string
  /** `device: unknown`: the flag saying the device is known to the account (skips the step). */
  readonly unless: string | undefined
  /**
   * A request counted when let through: the store it was counted in and when, to give it back
   * if the answer does not count — an outcome rule's other statuses, or a puzzle (see `observe`).
   */
  countedIn: Store | undefined = undefined
  countedAt = 0
  /** How many requests this one counts as (`cost:`), counted and given back whole. */
  cost = 1
  constructor(
    rule: Rule,
    op: LimitStep['op'],
    key: string,
    limit: Limit,
    member: string,
    unless?: string,
  ) {
    this.rule = rule
    this.op = op
    this.key = key
    this.limit = limit
    this.member = member
    this.unless = unless
  }
}

/** What one rule makes of a request before the store is asked: a verdict, nothing, or a step. */
type Planned = Verdict | undefined | Pending

/** The `device:` filters of a rule: which requests it counts. */
const DEVICE_FILTERS: Readonly<
  Record<Exclude<NonNullable<LimitRuleSpec['device']>, 'unknown'>, (id: Identity) => boolean>
> = {
  missing: (id) => id.device === undefined,
  present: (id) => id.device !== undefined,
  untrusted: (id) => id.deviceTrusted !== true,
  trusted: (id) => id.deviceTrusted === true,
}

/**
 * How long a device stays known to an account after a success (`device: unknown`), and an API
 * key proven (`apiKey: unproven`), renewed by each one.
 */
const KNOWN_FOR = 90 * 24 * 60 * 60_000
/** The `known:<account>:<device>` key of a request that may make its device known (observe). */
const KNOWN = 'limits.known'
/** The `proven:<api key digest>` key of a request that may prove its API key (observe). */
const PROVEN = 'limits.proven'
/** Both, as observe reads them (one array for every request). */
const REMEMBERED = [KNOWN, PROVEN] as const

/**
 * A request's counted steps that its answer may give back: outcome rules' always, request
 * rules' when puzzles are on (a request answered with one is given back).
 */
const PENDING = 'limits.pending'
/** Most keys remembered as "over the limit" in memory (the rest go to the store). */
const MAX_BLOCKED = 100_000

export const limits: LayerType<LimitsSpec> = {
  type: 'limits',
  spec: LimitsSpec,
  create(spec, deps: LayerDeps): Layer {
    const { store, clock, facets } = deps
    const local =
      store.kind === 'memory' ? store : new MemoryStore({ maxKeys: deps.localMaxKeys ?? 100_000 })
    const rules: Rule[] = spec.rules.map((r) => ({
      spec: r,
      name: `limits.${r.id}`,
      limit: {
        algorithm: r.algorithm,
        limit: r.limit,
        windowMs: r.window,
        ...(r.burst ? { burst: r.burst } : {}),
      },
      monitor: (r.mode ?? deps.mode) === 'monitor',
      key: r.key.map((k) => facets.getter(k)),
      distinct: r.distinct ? facets.getter(r.distinct) : undefined,
      cost:
        r.cost === undefined
          ? undefined
          : typeof r.cost === 'string'
            ? costReader(r.cost, facets.getter)
            : costItems(r.cost, deps.foldCase ?? true),
      counts: r.outcomes ? statusMatcher(r.outcomes) : undefined,
      device:
        r.device === undefined || r.device === 'unknown' ? undefined : DEVICE_FILTERS[r.device],
      knownTo: r.device === 'unknown' ? facets.getter('account') : undefined,
      provenKey: r.apiKey === 'unproven' ? facets.getter('apiKey') : undefined,
      signedIn: r.signedIn,
      session:
        r.session === undefined
          ? undefined
          : { of: facets.getter('session'), present: r.session === 'present' },
      keys: new KeyCache((parts) => `${r.id}|${parts.join('|')}`),
    }))
    const anyKnown = rules.some((r) => r.knownTo !== undefined || r.provenKey !== undefined)
    // With puzzles, a request answered with one is given back to the rules that counted it:
    // its solved retry is the request (a person would otherwise pay twice against a cap).
    const puzzles = deps.puzzles === true
    const matcher = compileRoutes(
      rules.map((r, i) => ({
        paths: r.spec.paths.length ? r.spec.paths : ['/*'],
        methods: r.spec.methods,
        value: i,
      })),
      deps.foldCase ?? true,
    )
    // rlf's inMemoryBlockOnConsumed: a key already over its limit is answered from memory
    // until it resets, so a flood against one key does not hammer Redis.
    const blocked = new OrderedMap<string, Blocked>()
    const lastNotice = new Map<string, number>()

    function verdictFor(rule: Rule, key: string, r: LimitResult, cost = 1): Verdict {
      const s = rule.spec
      const noun =
        s.count === 'distinct'
          ? `distinct ${s.distinct}`
          : s.count === 'outcomes'
            ? 'counted outcomes'
            : s.cost
              ? `counted by ${describeCost(s.cost)}`
              : 'requests'
      return {
        action: s.action,
        rule: rule.name,
        reason: `${describeKey(s.key, key)}: ${r.count} ${noun} > ${s.limit} per ${s.window / 1000}s${cost > 1 ? ` (this one counts as ${cost})` : ''}`,
        monitor: rule.monitor,
        // A `deceive` is a fake success (made by the engine): no refusal status, and no
        // RateLimit headers telling the bot it was counted out.
        ...(s.action === 'deceive'
          ? s.status !== undefined
            ? { status: s.status }
            : {}
          : {
              status:
                s.status ?? (s.action === 'throttle' ? 429 : s.action === 'challenge' ? 401 : 403),
            }),
        ...(spec.headers !== 'none' && s.action !== 'deceive'
          ? { headers: rateLimitHeaders(s.id, s.limit, s.window, key, r) }
          : {}),
        data: {
          key,
          count: r.count,
          limit: s.limit,
          windowMs: s.window,
          retryAfterMs: r.retryAfterMs,
          ...(cost > 1 ? { cost } : {}),
        },
      }
    }

    function storeFailed(rule: Rule, err: unknown): Verdict | undefined | 'local' {
      const now = clock.now()
      if ((lastNotice.get(rule.name) ?? 0) + 10_000 < now) {
        lastNotice.set(rule.name, now)
        notice({
          kind: 'store-error',
          level: 'error',
          msg: `store failed for ${rule.name}; onStoreError: ${rule.spec.onStoreError}`,
          rule: rule.name,
          error: String((err as Error)?.message ?? err),
        })
      }
      if (rule.spec.onStoreError === 'local') return 'local'
      if (rule.spec.onStoreError === 'open') return undefined
      return {
        action: 'block',
        rule: rule.name,
        reason: 'state store unavailable (onStoreError: closed)',
        monitor: rule.monitor,
        status: 503,
      }
    }

    /** One rule's store step with the rule's failure policy applied. */
    function step(p: Pending, now: number, s: Store): MaybePromise<Verdict | undefined> {
      let r: MaybePromise<StepResult>
      try {
        r = call(p, now, s)
      } catch (err) {
        return recover(p, now, err)
      }
      if (r instanceof Promise)
        return r.then(
          (v) => judge(p, now, v, s),
          (err) => recover(p, now, err),
        )
      return judge(p, now, r, s)
    }

    function recover(p: Pending, now: number, err: unknown): MaybePromise<Verdict | undefined> {
      const f = storeFailed(p.rule, err)
      return f === 'local' ? step(p, now, local) : f
    }

    function call(p: Pending, now: number, s: Store): MaybePromise<StepResult> {
      if (p.unless !== undefined) {
        // The guard is read in the step's own call: still one round trip.
        const r = s.batch([p], now)
        return r instanceof Promise ? r.then(firstStep) : r[0]!
      }
      switch (p.op) {
        case 'consume':
          return s.consume(p.key, p.limit, now, p.cost)
        case 'peek':
          return s.peek(p.key, p.limit, now, p.cost)
        case 'distinct':
          return s.addDistinct(p.key, p.member, p.limit.windowMs, now)
      }
    }

    function judge(p: Pending, now: number, v: StepResult, s: Store): Verdict | undefined {
      // Skipped: the device is known to the account (nothing counted, nothing to give back).
      if (v === null) return undefined
      const { rule, key } = p
      const r: LimitResult =
        typeof v === 'number'
          ? {
              allowed: v <= rule.limit.limit,
              remaining: Math.max(0, rule.limit.limit - v),
              retryAfterMs: v <= rule.limit.limit ? 0 : rule.limit.windowMs,
              resetMs: rule.limit.windowMs,
              count: v,
            }
          : v
      if (r.allowed) {
        if (p.op === 'consume') {
          p.countedIn = s
          p.countedAt = now
        }
        return spec.headers === 'all' ? allowWithHeaders(rule, key, r) : undefined
      }
      const verdict = verdictFor(rule, key, r, p.cost)
      // A costly request refused is not remembered: a smaller one may still fit.
      if (p.cost === 1)
        remember(key, { until: now + r.retryAfterMs, result: r, verdict, builtAt: now })
      return verdict
    }

    function allowWithHeaders(rule: Rule, key: string, r: LimitResult): Verdict {
      return {
        action: 'allow',
        rule: rule.name,
        reason: 'within limit',
        monitor: rule.monitor,
        headers: rateLimitHeaders(rule.spec.id, rule.spec.limit, rule.spec.window, key, r),
      }
    }

    function remember(key: string, entry: Blocked) {
      if (blocked.size >= MAX_BLOCKED) blocked.deleteOldest()
      blocked.set(key, entry)
    }

    /**
     * One rule for one request, up to the store step it needs. Synchronous unless a facet is
     * (a body field): the common path allocates no closures.
     */
    function plan(
      rule: Rule,
      ctx: RequestContext,
      now: number,
      params: Readonly<Record<string, string>>,
    ): MaybePromise<Planned> {
      if (rule.device !== undefined && !rule.device(ctx.identity)) return undefined
      if (rule.signedIn !== undefined && (ctx.identity.accountVerified === true) !== rule.signedIn)
        return undefined
      if (rule.session !== undefined && hasSession(rule.session.of(ctx)) !== rule.session.present)
        return undefined
      if (
        rule.knownTo !== undefined &&
        (ctx.identity.device !== undefined || ctx.issuedDevice !== undefined)
      ) {
        const account = rule.knownTo(ctx, params)
        return account instanceof Promise
          ? account.then((a) => unlessKnown(rule, ctx, now, params, a))
          : unlessKnown(rule, ctx, now, params, account)
      }
      if (rule.provenKey !== undefined) {
        // A request with a key proven good is not counted (read in the step's own call).
        const key = rule.provenKey(ctx, params)
        if (key instanceof Refusal) return refusal(key)
        if (typeof key === 'string' && key !== '') {
          const proven = `proven:${key}`
          ctx.locals.set(PROVEN, proven)
          return planKey(rule, ctx, now, params, proven)
        }
      }
      return planKey(rule, ctx, now, params, undefined)
    }

    function planKey(
      rule: Rule,
      ctx: RequestContext,
      now: number,
      params: Readonly<Record<string, string>>,
      unless: string | undefined,
    ): MaybePromise<Planned> {
      const parts = facetValues(rule.key, ctx, params)
      return parts instanceof Promise
        ? parts.then((values) => withKey(rule, ctx, now, params, values, unless))
        : withKey(rule, ctx, now, params, parts, unless)
    }

    /**
     * `device: unknown`: a request from a device its account has used with success before is
     * not counted. The store reads the `known:` flag in the step's own call (one round trip;
     * unreadable counts as unknown, as the store's failure policy says). Any other request is
     * counted, and may make its device known if it succeeds (observe): its new device's, for a
     * request given its first cookie.
     */
    function unlessKnown(
      rule: Rule,
      ctx: RequestContext,
      now: number,
      params: Readonly<Record<string, string>>,
      account: FacetValue,
    ): MaybePromise<Planned> {
      if (account instanceof Refusal) return refusal(account)
      if (account === undefined || account === '') return planKey(rule, ctx, now, params, undefined)
      // Under the account as sent: a look-alike (`ａｌｉｃｅ`, `Alice`) the backend may hold as
      // another account must not make a device known to this one.
      const device = ctx.identity.device
      const known = `known:${ctx.identity.accountAsSent ?? account}:${device ?? ctx.issuedDevice!}`
      ctx.locals.set(KNOWN, known)
      // A device given its first cookie with this answer is not known yet: counted, and known
      // to the account if it succeeds — a browser whose first request is the sign-in is its
      // owner's from then on.
      return planKey(rule, ctx, now, params, device === undefined ? undefined : known)
    }

    function withKey(
      rule: Rule,
      ctx: RequestContext,
      now: number,
      params: Readonly<Record<string, string>>,
      values: FacetValue[] | Refusal | undefined,
      unless: string | undefined,
    ): MaybePromise<Planned> {
      if (values === undefined) return undefined
      if (values instanceof Refusal) return refusal(values)
      const key = rule.keys.get(values as string[])
      // A guarded step is not answered from memory: whether the device is known is the store's.
      const memo = unless === undefined ? blocked.get(key) : undefined
      if (memo) {
        if (memo.until > now) {
          // A flood against one key is answered from memory; the verdict (reason, headers,
          // hashed partition key) is rebuilt at most once a second, for a fresh Retry-After.
          if (now - memo.builtAt >= 1_000) {
            memo.verdict = verdictFor(rule, key, {
              ...memo.result,
              retryAfterMs: memo.until - now,
            })
            memo.builtAt = now
          }
          return memo.verdict
        }
        blocked.delete(key)
      }
      if (!rule.distinct) {
        // An outcome rule's request is counted now, while it is let through, and given back
        // after the answer if it does not count (observe): requests in flight hold their place,
        // so a burst sent side by side cannot all pass a check that only counted answers back.
        const p = new Pending(rule, 'consume', key, rule.limit, '', unless)
        if (rule.counts !== undefined || puzzles) {
          const pending = ctx.local(PENDING) as Pending[] | undefined
          if (pending) pending.push(p)
          else ctx.locals.set(PENDING, [p])
        }
        if (rule.cost === undefined) return p
        const cost = rule.cost(ctx)
        return cost instanceof Promise ? cost.then((c) => costed(p, c)) : costed(p, cost)
      }
      const member = rule.distinct(ctx, params)
      return member instanceof Promise
        ? member.then((m) => withMember(rule, key, m, unless))
        : withMember(rule, key, member, unless)
    }

    function costed(p: Pending, cost: number | Refusal): Planned {
      if (cost instanceof Refusal) return refusal(cost)
      // A batch none of whose operations the rule counts (`cost: { paths }`): not counted.
      if (cost === 0) return undefined
      p.cost = cost
      return p
    }

    function withMember(
      rule: Rule,
      key: string,
      m: FacetValue,
      unless: string | undefined,
    ): Planned {
      if (m instanceof Refusal) return refusal(m)
      if (m === undefined) return undefined
      return new Pending(rule, 'distinct', key, rule.limit, m, unless)
    }

    /** The request's planned rules, their store steps run: one batch when there are several. */
    function settle(
      plans: readonly Planned[],
      now: number,
    ): MaybePromise<Verdict | Verdict[] | undefined> {
      let verdicts: Verdict[] | undefined
      let steps: Pending[] | undefined
      for (let i = 0; i < plans.length; i++) {
        const p = plans[i]
        if (p instanceof Pending) (steps ??= []).push(p)
        else if (p !== undefined) (verdicts ??= []).push(p)
      }
      if (!steps) return verdicts
      if (steps.length === 1 || store.kind === 'memory') {
        // Synchronous on the memory store; one rule on Redis is one call anyway.
        let waiting: Promise<Verdict | undefined>[] | undefined
        for (const p of steps) {
          const v = step(p, now, store)
          if (v instanceof Promise) (waiting ??= []).push(v)
          else if (v !== undefined) (verdicts ??= []).push(v)
        }
        if (!waiting) return verdicts
        return Promise.all(verdicts ? [...waiting, ...verdicts] : waiting).then(compact)
      }
      let r: MaybePromise<StepResult[]>
      try {
        r = store.batch(steps, now)
      } catch (err) {
        return recoverAll(steps, now, err, verdicts)
      }
      const all = steps
      if (!(r instanceof Promise)) return judgeAll(all, r, now, verdicts)
      return r.then(
        (results) => judgeAll(all, results, now, verdicts),
        (err) => recoverAll(all, now, err, verdicts),
      )
    }

    function settleOne(p: Planned, now: number): MaybePromise<Verdict | undefined> {
      return p instanceof Pending ? step(p, now, store) : p
    }

    function judgeAll(
      steps: readonly Pending[],
      results: readonly StepResult[],
      now: number,
      verdicts: Verdict[] | undefined,
    ): Verdict[] | undefined {
      for (let i = 0; i < steps.length; i++) {
        const p = steps[i]!
        const v = judge(p, now, results[i]!, store)
        if (v !== undefined) (verdicts ??= []).push(v)
      }
      return verdicts
    }

    /** A failed batch: each rule's own `onStoreError` decides. */
    function recoverAll(
      steps: readonly Pending[],
      now: number,
      err: unknown,
      verdicts: Verdict[] | undefined,
    ): MaybePromise<Verdict[] | undefined> {
      const out: MaybePromise<Verdict | undefined>[] = verdicts ? [...verdicts] : []
      for (const p of steps) out.push(recover(p, now, err))
      return out.some((v) => v instanceof Promise)
        ? Promise.all(out).then(compact)
        : compact(out as (Verdict | undefined)[])
    }

    /**
     * Unblock: resets every key of a rule keyed only on the given facets, and every remembered
     * blocked key that matches them (keys also built from other parts, like `[ip, route]`, are
     * found only while they are blocked).
     */
    async function forget(facets: FacetValues): Promise<number> {
      const now = clock.now()
      const reset = new Map<string, Rule>()
      for (const rule of rules) {
        const given = rule.spec.key.map((k) => facets[k as keyof FacetValues] ?? [])
        if (given.every((g) => g.length === 0)) continue
        if (given.every((g) => g.length > 0))
          for (const values of product(given))
            reset.set(`${rule.spec.id}|${values.join('|')}`, rule)
        const prefix = `${rule.spec.id}|`
        for (const key of blocked.keys()) {
          if (!key.startsWith(prefix)) continue
          const values = key.slice(prefix.length).split('|')
          if (values.length !== given.length) continue
          if (given.every((g, i) => g.length === 0 || g.includes(values[i]!))) reset.set(key, rule)
        }
      }
      for (const [key, rule] of reset) {
        blocked.delete(key)
        await store.reset(key, rule.limit.windowMs, now)
        if (local !== store) await local.reset(key, rule.limit.windowMs, now)
      }
      return reset.size
    }

    return {
      name: 'limits',
      check: function limitsCheck(ctx) {
        const hits = matcher.allHits(ctx.method, ctx.pathKey)
        if (hits.length === 0) return undefined
        const now = clock.now()
        if (hits.length === 1) {
          const p = plan(rules[hits[0]!.value]!, ctx, now, hits[0]!.params)
          if (p instanceof Promise) return p.then((x) => settleOne(x, now))
          return settleOne(p, now)
        }
        const plans: MaybePromise<Planned>[] = new Array(hits.length)
        let waiting = false
        for (let i = 0; i < hits.length; i++) {
          const h = hits[i]!
          const p = (plans[i] = plan(rules[h.value]!, ctx, now, h.params))
          if (p instanceof Promise) waiting = true
        }
        if (waiting) return Promise.all(plans).then((ps) => settle(ps, now))
        return settle(plans as Planned[], now)
      },
      observe: function limitsObserve(ctx, outcome, decision) {
        if (anyKnown && !outcome.byGateway && outcome.status >= 200 && outcome.status < 300)
          for (const local of REMEMBERED) {
            const known = ctx.local(local) as string | undefined
            if (known === undefined) continue
            try {
              const r = store.flag(known, '1', KNOWN_FOR, clock.now())
              if (r instanceof Promise) r.catch(() => {})
            } catch {
              // Not remembered: the device (key) is counted like an unknown one next time.
            }
          }
        const pending = ctx.local(PENDING) as Pending[] | undefined
        if (!pending) return
        const puzzle =
          decision.action === 'challenge' &&
          typeof decision.decisive?.data?.pow === 'string' &&
          outcome.byGateway
        const unknown = outcomeUnknown(outcome)
        for (const p of pending) {
          const counted = p.countedIn
          // Not counted (refused, skipped for a known device, or the store failed open), or an
          // answer that counts (a failed login; any request but a puzzle): nothing to give back.
          if (counted === undefined) continue
          const counts = p.rule.counts
          if (
            counts === undefined
              ? !puzzle
              : unknown || (!outcome.byGateway && counts(outcome.status))
          )
            continue
          // The gateway answered instead (another rule refused it, or the client left while its
          // answer was held back), or the backend's answer is one the rule does not count: give
          // the place back. An unknown outcome keeps it (see outcomeUnknown).
          p.countedIn = undefined
          // A key remembered as over its limit is not any more once a place is free.
          blocked.delete(p.key)
          try {
            const r = counted.refund(p.key, p.limit, p.countedAt, clock.now(), p.cost)
            if (r instanceof Promise) r.catch((err: unknown) => storeFailed(p.rule, err))
          } catch (err) {
            storeFailed(p.rule, err)
          }
        }
      },
      forget: function limitsForget(facets) {
        return forget(facets)
      },
      async close() {
        if (local !== store) await local.close()
      },
    }
  },
}

/**
 * The backend had the request but its answer is unknown: the client left before it came back
 * (status 0), or the upstream failed after being sent it (the gateway's 502/504, `unanswered`).
 * The backend may have acted — checked a voucher, an OTP, a password — so an outcome rule keeps
 * the place: a bot that hangs up before each answer must not get its guesses back (red team 8:
 * 100 of 100 voucher guesses reached the backend past a limit of 5). An upstream that could not
 * be reached at all never had the request: its 502 gives the place back, so people retrying
 * through an outage are not counted as failures.
 */
function outcomeUnknown(outcome: Outcome): boolean {
  return outcome.byGateway ? outcome.unanswered === true : outcome.status === 0
}

/** Every combination taking one value from each list. */
function product(lists: readonly (readonly string[])[]): string[][] {
  return lists.reduce<string[][]>((acc, l) => acc.flatMap((a) => l.map((v) => [...a, v])), [[]])
}

function compact(vs: readonly (Verdict | undefined)[]): Verdict[] | undefined {
  if (vs.length === 0) return undefined
  const out = vs.filter((v): v is Verdict => v !== undefined)
  return out.length ? out : undefined
}

function refusal(r: Refusal): Verdict {
  return {
    action: 'block',
    rule: 'request.ambiguous-body',
    reason: r.reason,
    monitor: false,
    status: 400,
  }
}

/** Every facet's value; undefined when one is missing (the rule does not apply). */
function facetValues(
  getters: readonly FacetGetter[],
  ctx: RequestContext,
  params: Readonly<Record<string, string>>,
): MaybePromise<FacetValue[] | Refusal | undefined> {
  const values: FacetValue[] = new Array(getters.length)
  let waiting: MaybePromise<FacetValue>[] | undefined
  for (let i = 0; i < getters.length; i++) {
    const v = getters[i]!(ctx, params)
    if (v instanceof Promise) {
      waiting ??= values.slice(0, i)
      waiting.push(v)
    } else if (waiting) waiting.push(v)
    else {
      if (v instanceof Refusal) return v
      if (v === undefined) return undefined
      values[i] = v
    }
  }
  return waiting ? Promise.all(waiting).then(settleValues) : values
}

function settleValues(vs: FacetValue[]): FacetValue[] | Refusal | undefined {
  for (const v of vs) {
    if (v instanceof Refusal) return v
    if (v === undefined) return undefined
  }
  return vs
}

function describeKey(facets: readonly string[], key: string): string {
  const values = key.split('|').slice(1)
  return facets.map((f, i) => `${f} ${JSON.stringify(values[i])}`).join(', ')
}

function statusMatcher(list: readonly (number | string)[]): (status: number) => boolean {
  const exact = new Set(list.filter((s): s is number => typeof s === 'number'))
  const classes = new Set(
    list.filter((s): s is string => typeof s === 'string').map((s) => Number(s[0])),
  )
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100))
}

/** Whether a request has a session: a value (or one refused as ambiguous: sent, then). */
function hasSession(v: MaybePromise<FacetValue>): boolean {
  return v instanceof Refusal || v instanceof Promise || (typeof v === 'string' && v !== '')
}
