/**
 * The `limits` layer: behavioural rate limits keyed on any identity facet, counting requests,
 * outcomes (failed logins, counted after the upstream answered) or distinct values (product
 * ids per fingerprint). Rules compile once; a request runs only the rules whose routes match.
 * @see ../../../README.md#limits
 */
import type {
  FacetValues,
  Layer,
  LayerDeps,
  MaybePromise,
  RequestContext,
  Verdict,
} from '../../engine/types.js'
import { Refusal, type FacetGetter, type FacetValue } from '../../identity/facets.js'
import { compileRoutes } from '../../request/routes.js'
import { MemoryStore } from '../../store/memory.js'
import type { Limit, LimitResult, Store } from '../../store/store.js'
import { notice } from '../../telemetry/channels.js'
import type { LayerType } from '../layer-type.js'
import { rateLimitHeaders } from './headers.js'
import { LimitsSpec, type LimitRuleSpec } from './spec.js'
import { OrderedMap } from '../../store/ordered-map.js'

interface Rule {
  readonly spec: LimitRuleSpec
  readonly name: string
  readonly limit: Limit
  readonly monitor: boolean
  readonly key: readonly FacetGetter[]
  readonly distinct: FacetGetter | undefined
  readonly counts: ((status: number) => boolean) | undefined
}

/** A key over its limit, answered from memory until `until`. */
interface Blocked {
  readonly until: number
  readonly result: LimitResult
  verdict: Verdict
  builtAt: number
}

/** Outcome rules waiting for the upstream's status, per request. */
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
      counts: r.outcomes ? statusMatcher(r.outcomes) : undefined,
    }))
    const matcher = compileRoutes(
      rules.map((r, i) => ({
        paths: r.spec.paths.length ? r.spec.paths : ['/*'],
        methods: r.spec.methods,
        value: i,
      })),
      true,
    )
    // rlf's inMemoryBlockOnConsumed: a key already over its limit is answered from memory
    // until it resets, so a flood against one key does not hammer Redis.
    const blocked = new OrderedMap<string, Blocked>()
    const lastNotice = new Map<string, number>()

    function verdictFor(rule: Rule, key: string, r: LimitResult): Verdict {
      const s = rule.spec
      const noun =
        s.count === 'distinct'
          ? `distinct ${s.distinct}`
          : s.count === 'outcomes'
            ? 'counted outcomes'
            : 'requests'
      return {
        action: s.action,
        rule: rule.name,
        reason: `${describeKey(s.key, key)}: ${r.count} ${noun} > ${s.limit} per ${s.window / 1000}s`,
        monitor: rule.monitor,
        status: s.status ?? (s.action === 'throttle' ? 429 : 403),
        ...(spec.headers !== 'none'
          ? { headers: rateLimitHeaders(s.id, s.limit, s.window, key, r) }
          : {}),
        data: {
          key,
          count: r.count,
          limit: s.limit,
          windowMs: s.window,
          retryAfterMs: r.retryAfterMs,
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

    /** One store step with the rule's failure policy applied. `member` for distinct counts. */
    function step(
      rule: Rule,
      key: string,
      member: string,
      now: number,
      s: Store,
    ): MaybePromise<Verdict | undefined> {
      let r: MaybePromise<LimitResult | number>
      try {
        r = call(rule, key, member, now, s)
      } catch (err) {
        return recover(rule, key, member, now, err)
      }
      if (r instanceof Promise)
        return r.then(
          (v) => judge(rule, key, now, v),
          (err) => recover(rule, key, member, now, err),
        )
      return judge(rule, key, now, r)
    }

    function recover(
      rule: Rule,
      key: string,
      member: string,
      now: number,
      err: unknown,
    ): MaybePromise<Verdict | undefined> {
      const f = storeFailed(rule, err)
      return f === 'local' ? step(rule, key, member, now, local) : f
    }

    function call(
      rule: Rule,
      key: string,
      member: string,
      now: number,
      s: Store,
    ): MaybePromise<LimitResult | number> {
      switch (rule.spec.count) {
        case 'requests':
          return s.consume(key, rule.limit, now)
        case 'outcomes':
          return s.peek(key, rule.limit, now)
        case 'distinct':
          return s.addDistinct(key, member, rule.limit.windowMs, now)
      }
    }

    function judge(
      rule: Rule,
      key: string,
      now: number,
      v: LimitResult | number,
    ): Verdict | undefined {
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
      if (r.allowed) return spec.headers === 'all' ? allowWithHeaders(rule, key, r) : undefined
      const verdict = verdictFor(rule, key, r)
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
     * One rule for one request. Synchronous unless a facet or the store is asynchronous (a body
     * field, Redis): the common path allocates no closures.
     */
    function evaluate(
      rule: Rule,
      ctx: RequestContext,
      now: number,
      params: Readonly<Record<string, string>>,
    ): MaybePromise<Verdict | undefined> {
      const parts = facetValues(rule.key, ctx, params)
      return parts instanceof Promise
        ? parts.then((values) => withKey(rule, ctx, now, params, values))
        : withKey(rule, ctx, now, params, parts)
    }

    function withKey(
      rule: Rule,
      ctx: RequestContext,
      now: number,
      params: Readonly<Record<string, string>>,
      values: FacetValue[] | Refusal | undefined,
    ): MaybePromise<Verdict | undefined> {
      if (values === undefined) return undefined
      if (values instanceof Refusal) return refusal(values)
      const key =
        values.length === 1 ? `${rule.spec.id}|${values[0]}` : `${rule.spec.id}|${values.join('|')}`
      const memo = blocked.get(key)
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
      if (rule.spec.count === 'outcomes') {
        const pending = (ctx.locals.get(PENDING) as [Rule, string][] | undefined) ?? []
        pending.push([rule, key])
        ctx.locals.set(PENDING, pending)
      }
      if (!rule.distinct) return step(rule, key, '', now, store)
      const member = rule.distinct(ctx, params)
      return member instanceof Promise
        ? member.then((m) => withMember(rule, key, now, m))
        : withMember(rule, key, now, member)
    }

    function withMember(
      rule: Rule,
      key: string,
      now: number,
      m: FacetValue,
    ): MaybePromise<Verdict | undefined> {
      if (m instanceof Refusal) return refusal(m)
      if (m === undefined) return undefined
      return step(rule, key, m, now, store)
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
        if (hits.length === 1) return evaluate(rules[hits[0]!.value]!, ctx, now, hits[0]!.params)
        let verdicts: Verdict[] | undefined
        let pending: MaybePromise<Verdict | undefined>[] | undefined
        for (let i = 0; i < hits.length; i++) {
          const h = hits[i]!
          const r = evaluate(rules[h.value]!, ctx, now, h.params)
          if (r instanceof Promise) (pending ??= []).push(r)
          else if (r !== undefined) (verdicts ??= []).push(r)
        }
        if (!pending) return verdicts
        if (verdicts) pending.push(...verdicts)
        return Promise.all(pending).then(compact)
      },
      observe: function limitsObserve(ctx, outcome) {
        const pending = ctx.locals.get(PENDING) as [Rule, string][] | undefined
        if (!pending || outcome.byGateway) return
        const now = clock.now()
        for (const [rule, key] of pending) {
          if (!rule.counts!(outcome.status)) continue
          const onError = (err: unknown) => {
            if (storeFailed(rule, err) === 'local') void local.consume(key, rule.limit, now)
          }
          try {
            const r = store.consume(key, rule.limit, now)
            if (r instanceof Promise) r.catch(onError)
          } catch (err) {
            onError(err)
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

/** Every combination taking one value from each list. */
function product(lists: readonly (readonly string[])[]): string[][] {
  return lists.reduce<string[][]>((acc, l) => acc.flatMap((a) => l.map((v) => [...a, v])), [[]])
}

function compact(vs: readonly (Verdict | undefined)[]): Verdict[] | undefined {
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
