/**
 * The `behavior` layer: business flows, bot signals, a decaying risk score per identity facet
 * (shared through the store, so several gateways see one score) and graded actions with
 * expiring penalties. Every verdict lists the signals and weights behind its score.
 * @see ../../../README.md#behaviour-and-risk
 */
import type {
  Decision,
  Identity,
  Layer,
  LayerDeps,
  MaybePromise,
  Outcome,
  RequestContext,
  Verdict,
} from '../../engine/types.js'
import { flagKey, setByClient, type FlagFacet } from '../../identity/flags.js'
import { digitsValue } from '../../request/digits.js'
import { compileRoutes } from '../../request/routes.js'
import { SEVERITY } from '../../engine/types.js'
import type { LayerType } from '../layer-type.js'
import { KeyCache } from '../../store/key-cache.js'
import { OrderedMap } from '../../store/ordered-map.js'
import { Relays } from './relay.js'
import { buildOf } from '../../identity/device.js'
import { browserBuild, headerSignals, Trackers, type SignalName, type Tracker } from './signals.js'
import { BehaviorSpec, type FlowRuleSpec } from './spec.js'

type ScoredFacet = keyof BehaviorSpec['facetWeights']
const SCORED: readonly ScoredFacet[] = [
  'account',
  'session',
  'apiKey',
  'device',
  'fingerprint',
  'ip',
]
/**
 * Facets that name one client; the others (fingerprint, IP) can be shared by many people. A
 * device counts once it is trusted (`identity.device.trustAfter`; see {@link facetsOf}).
 */
const STRONG: ReadonlySet<Scored> = new Set(['account', 'session', 'apiKey', 'device'])
/**
 * What a facet of the score can be: a facet, or `claim` — an account the request names but
 * has not proven (a login body's username: an attacker names its victim's), shared by everyone
 * who names it and scored apart from the account a verified token proves.
 */
type Scored = ScoredFacet | 'claim'

/** A facet's store keys, built once per value (see {@link KeyCache}). */
interface FacetKeys {
  readonly flag: string
  readonly penalty: string
  readonly risk: string
  /** Set while the value (a fingerprint) is a crowd's: see {@link BehaviorSpec} `crowd`. */
  readonly crowd: string
  /**
   * A session's or API key's standing: the build (User-Agent hash) it was last seen with on a
   * request judged clean, or `t` when it was first seen on one that was not (see {@link CLAIMED}).
   */
  readonly born: string
}
/**
 * Facets a client chooses for itself and nothing verifies (a session cookie, an API key): they
 * shield a client from what its fingerprint and IP carry only once established — seen on a
 * request judged clean, with the same User-Agent. A bot that is penalised on its fingerprint
 * and sends a new random session with every request (or reuses one it first sent while
 * penalised, or one it had another header set make) is judged by its fingerprint and IP like
 * any anonymous client, until the penalty is over.
 */
const CLAIMED: ReadonlySet<Scored> = new Set(['session', 'apiKey'])
/** How long a session's or API key's standing is remembered. */
const BORN_TTL = 24 * 60 * 60_000
/** A trusted device is counted toward its fingerprint's crowd at most once per this. */
const VOUCH_EVERY = 60 * 60_000
/** A scored facet of the request: its name, its value and its keys. */
type Facet = readonly [Scored, string, FacetKeys]

/** Per-request working state, kept on ctx.locals between check and observe. */
interface Pending {
  readonly facets: readonly Facet[]
  readonly tracker: Tracker
  /** Signals that fired in check (added to the score in observe, once). */
  readonly fired: SignalName[]
  /** Flows whose first step this request is (recorded when it succeeds). */
  readonly steps: readonly FlowRuleSpec[]
  /** Flows that guard this request. */
  readonly guarded: readonly FlowRuleSpec[]
  /**
   * Steps of `once` flows this request took in check: put back unless the upstream answers
   * it with a success.
   */
  claimed: Claim[] | undefined
  /** The client's key for relays (its most specific facet that survives an IP change). */
  readonly self: string
  /** What its requests are counted under for relays: `self`, or `self` on a young device. */
  readonly who: string
  /** Being given its first device cookie (a new client, whatever its headers). */
  readonly newDevice: boolean
  /** Where the relay handoff is in the flag lookups; -1 when none was looked up. */
  handoffAt: number
  /** The templated route this request's ids are read from ({@link idRoute}). */
  readonly ids: IdRoute
  /** Where the claimed facets' standings are in the flag lookups, and which facets they are. */
  bornAt: number
  claims: number[] | undefined
  /** The request's risk score, once judged. */
  score: number
  /** Risk inherited from a refused client this one took over from (with `relay` fired). */
  inherited: number
  /**
   * A browser build's risk on this request's network (`risk:fingerprint:<fp>@<net>`): scored
   * after the facets' risks, and added to with them. Undefined for other header sets.
   */
  fpNet: string | undefined
}
const PENDING = 'behavior.pending'

/** A `once` flow's step, taken from the store by the request it lets through. */
interface Claim {
  readonly key: string
  /** When the step was recorded (ms). */
  readonly at: number
  readonly within: number
}
/** Most unused steps of a `once` flow kept per client (the oldest go first). */
const MAX_STEPS = 50

/**
 * A `once` flow's unused steps, as stored: when each was recorded (ms), oldest first, comma
 * separated. Those older than `within` are dropped.
 */
function stepsOf(value: string | undefined, now: number, within: number): number[] {
  const out: number[] = []
  if (value)
    for (const s of value.split(',')) {
      const t = Number(s)
      if (t > now - within && t <= now) out.push(t)
    }
  return out
}

export const behavior: LayerType<BehaviorSpec> = {
  type: 'behavior',
  spec: BehaviorSpec,
  create(spec, deps: LayerDeps): Layer {
    const { store, clock, facets } = deps
    const monitor = (spec.mode ?? deps.mode) === 'monitor'
    const fingerprint = facets.getter('fingerprint')
    const apiKey = facets.getter('apiKey')
    const trackers = new Trackers(spec)
    /** Sessions and API keys seen before (bounded: a flood of junk values only churns this set). */
    const seenKeys = new OrderedMap<string, true>()

    /**
     * Whose tracker a request's signals build up on: its strongest identity's — but a session's
     * or an API key's only from its second request on. Nothing verifies those, so a bot sending
     * a new junk value with every request would otherwise get a fresh tracker each time (no
     * sweep, velocity or regularity could ever add up) and the pass a partner's program gets on
     * regularity.
     */
    function trackKey(id: Identity): string {
      const strong = strongKey(id)
      if (strong === undefined) return fipKey(id)
      if (id.accountVerified && id.account) return strong
      if (seenKeys.get(strong) !== undefined) {
        seenKeys.touch(strong, true)
        return strong
      }
      if (seenKeys.size >= SEEN_KEYS) seenKeys.deleteOldest()
      seenKeys.touch(strong, true)
      return fipKey(id)
    }
    const guarded = compileRoutes(
      spec.flows.map((f) => ({ paths: f.paths, methods: f.methods, value: f })),
      deps.foldCase ?? true,
    )
    const firstSteps = compileRoutes(
      spec.flows.map((f) => ({ paths: f.after.paths, methods: f.after.methods, value: f })),
      deps.foldCase ?? true,
    )
    const velocity = compileRoutes(
      spec.velocity.map((v, i) => ({ paths: v.paths, methods: v.methods, value: i })),
      deps.foldCase ?? true,
    )
    const thresholds = [...spec.thresholds].sort((a, b) => a.score - b.score)
    const noDeceive = spec.deceive.except.length
      ? compileRoutes([{ paths: spec.deceive.except, value: true }], deps.foldCase ?? true)
      : undefined
    const relays = new Relays(spec)
    const weights: Record<Scored, number> = {
      ...spec.facetWeights,
      claim: spec.facetWeights.account,
    }
    const halfLife = spec.halfLife

    // A facet's value with its store keys, made once per value: the same client sends the same
    // values request after request, and the tuple is read, never changed.
    const facetOf = {} as Record<Scored, KeyCache<Facet>>
    for (const f of [...SCORED, 'claim'] as const)
      facetOf[f] = new KeyCache(([v]) => [
        f,
        v!,
        {
          // A trap flag on an account is read by whoever names it.
          flag: flagKey((f === 'claim' ? 'account' : f) as FlagFacet, v!),
          penalty: `penalty:${f}:${v}`,
          risk: `risk:${f}:${v}`,
          crowd: `crowd:${f}:${v}`,
          born: `born:${f}:${v}`,
        },
      ])

    /** A browser build's risk per network: `risk:fingerprint:<fp>@<net>`. */
    const netRisk = new KeyCache(([fp, net]) => `risk:fingerprint:${fp}@${net}`)
    /**
     * Where a browser build's risk is kept per network too: a full browser header set is many
     * people's, so the risk bots run up on it counts in full only on the network where they did
     * (elsewhere at most `sharedFacetCap`, as for a crowd's). Crowds form only from devices
     * known for a while, and until then a bot copying the current Chrome build's headers from
     * rotating IPs put everyone on that build at its risk (8–14 of 150 office requests refused
     * in `simulate` with bots on people's header sets). Other header sets (tools, scripts,
     * apps) keep one risk across networks: their crowds are the apps' verified users.
     */
    function fpNetOf(ctx: RequestContext, states?: readonly string[]): string | undefined {
      const id = ctx.identity
      if (!id.fingerprint || !id.ipPrefix || weights.fingerprint === 0) return undefined
      return browserBuild(ctx.headers, states)
        ? netRisk.two(id.fingerprint, id.ipPrefix)
        : undefined
    }

    const crowd = spec.crowd
    /** Per voucher: the fingerprint it was last counted for, and until when. */
    const vouched = new Map<string, { fp: string; until: number }>()

    /**
     * Counts a client with an identity of its own — a trusted device, or an account a verified
     * token names (`voucher`: `d:…` or `a:…`) — toward its fingerprint's crowd, and marks the
     * fingerprint a crowd's once `crowd.clients` distinct ones were seen in the window. Each
     * vouches for one fingerprint per window, the first it was seen with (a browser or an app
     * keeps its headers until it updates), so a bot's few aged cookies or accounts cannot
     * vouch for every header set it rotates through. Asked of the store once an hour per
     * voucher and process.
     */
    function vouch(voucher: string, fp: string, now: number) {
      const seen = vouched.get(voucher)
      if (seen !== undefined && seen.fp === fp && seen.until > now) return
      if (vouched.size >= spec.maxTracked) vouched.clear()
      vouched.set(voucher, { fp, until: now + VOUCH_EVERY })
      const keys = facetOf.fingerprint.one(fp)[2]
      const mark = (n: number) => {
        if (n < crowd.clients) return
        const r = store.flag(keys.crowd, '1', crowd.window, now)
        if (r instanceof Promise) r.catch(() => {})
      }
      const count = (first: boolean) => {
        if (!first) return
        const n = store.addDistinct(`${keys.crowd}:clients`, voucher, crowd.window, now)
        if (n instanceof Promise) n.then(mark, () => {})
        else mark(n)
      }
      const first = store.flagOnce(`vouch:${voucher}`, fp, crowd.window, now)
      if (first instanceof Promise) first.then(count, () => {})
      else count(first)
    }

    /**
     * The scored facets of a client. Its device only once it is trusted (known for
     * `identity.device.trustAfter`): a
     * cookie issued a moment ago vouches for nothing (a bot that rotates gets a new one each
     * time), while a device known for a while is one person's, so the shared facets it comes
     * with (a fingerprint a bot copied) are capped for it.
     */
    function facetsOf(id: Identity): Facet[] {
      // In SCORED's order, each facet by name (`id[f]` over the list would be a megamorphic
      // keyed load per facet on every request).
      const out: Facet[] = []
      // An account the request only names is a claim: the risk of a brute force on it must
      // not follow its owner, who proves it (a token) or has a device of their own.
      if (id.account) add(out, id.accountVerified ? 'account' : 'claim', id.account)
      if (id.session) add(out, 'session', id.session)
      if (id.apiKey) add(out, 'apiKey', id.apiKey)
      if (id.device && id.deviceTrusted) add(out, 'device', id.device)
      if (id.fingerprint) add(out, 'fingerprint', id.fingerprint)
      if (id.ip) add(out, 'ip', id.ip)
      return out
    }
    function add(out: Facet[], as: Scored, v: string) {
      if (weights[as] > 0) out.push(facetOf[as].one(v))
    }

    return {
      name: 'behavior',
      check: function behaviorCheck(ctx) {
        const now = clock.now()
        const id = ctx.identity
        fingerprint(ctx)
        // The API key is the client's own identity (read here even when no rule keys on it).
        apiKey(ctx)
        const fs = facetsOf(id)
        if (crowd.clients > 0 && id.fingerprint) {
          if (id.deviceTrusted && id.device) vouch(`d:${id.device}`, id.fingerprint, now)
          else if (id.accountVerified && id.account) vouch(`a:${id.account}`, id.fingerprint, now)
        }
        const tracked = trackKey(id)
        const tracker = trackers.get(tracked)
        const fired: SignalName[] = []
        const ids = idRoute(ctx)
        const timing = tracker.arrival(now, spec.regularity)
        // Scripts are metronomes, people are not; but a client with an API key is a program
        // by definition (a partner's integration), and its steady pace proves nothing.
        if (
          spec.signals.regularity > 0 &&
          timing === 'regular' &&
          (id.apiKey === undefined || tracked !== CLIENT_KEYS.k.one(id.apiKey))
        )
          fired.push('regularity')
        if (spec.signals.sweep > 0 && timing !== 'burst') {
          for (const k in ids?.params) {
            const n = digitsValue(ids.params[k]!)
            if (n >= 0 && tracker.id(sweepKey(ids.template, k), n, spec.sweep)) fired.push('sweep')
          }
        }
        if (spec.velocity.length) {
          for (const i of velocity.all(ctx.method, ctx.pathKey)) {
            const v = spec.velocity[i]!
            if (tracker.rate(i, v.limit, v.window, now)) fired.push('velocity')
          }
        }
        const states = headerSignals(ctx.headers)
        const flows = guarded.all(ctx.method, ctx.pathKey)
        const steps = firstSteps.all(ctx.method, ctx.pathKey)
        const self = relayKey(id, tracked)
        // Being given its first device cookie: a new client (a refresh keeps the id).
        const newDevice = ctx.deviceCookie !== undefined && id.device === undefined
        // A young device's requests are counted per header set (see relay.ts).
        const who =
          id.device === undefined || id.deviceTrusted === true
            ? self
            : CLIENT_KEYS.fd.two(self, id.device)
        const pending: Pending = {
          facets: fs,
          tracker,
          fired,
          steps,
          guarded: flows,
          claimed: undefined,
          self,
          who,
          newDevice,
          handoffAt: -1,
          ids,
          bornAt: 0,
          claims: undefined,
          score: 0,
          inherited: 0,
          // (the header signals just read: not scanned again)
          fpNet: fpNetOf(ctx, states),
        }
        ctx.locals.set(PENDING, pending)
        // A new identity (or one suspected of taking over) on a templated route: was this
        // exact request refused to someone else a moment ago?
        const handoffKey = relays.arrive(
          self,
          who,
          ids !== undefined,
          newDevice,
          self === tracked ? CLIENT_KEYS.f.one(id.fingerprint ?? '') : self,
        )
          ? `relay:${ctx.method} ${ctx.pathKey}`
          : undefined

        // One store call for flags (traps, penalties, completed flow steps), one for scores.
        // Flag lookups in one list: each facet's trap flag and penalty, then the flows' first
        // steps (from `flowAt`), then the relay handoff (last).
        const lookups: string[] = []
        const scoreKeys: string[] = new Array(
          pending.fpNet === undefined ? fs.length : fs.length + 1,
        )
        for (let i = 0; i < fs.length; i++) {
          const keys = fs[i]![2]
          lookups.push(keys.flag, keys.penalty)
          scoreKeys[i] = keys.risk
        }
        // The build's risk on this network, after the facets' (read in judged()).
        if (pending.fpNet !== undefined) scoreKeys[fs.length] = pending.fpNet
        const flowAt = lookups.length
        // Indexed: `flow.by` is a (frozen) config array, which V8 walks with `for…of` through
        // the generic iterator, about 5× slower.
        for (let f = 0; f < flows.length; f++) {
          const flow = flows[f]!
          for (let b = 0; b < flow.by.length; b++) {
            const by = flow.by[b]!
            const v = id[by]
            if (typeof v === 'string' && v) lookups.push(`flow:${flow.id}:${by}:${v}`)
          }
        }
        // Whether the fingerprint is a crowd's (then before the handoff, which stays last).
        let crowdAt = -1
        if (crowd.clients > 0)
          for (let i = 0; i < fs.length; i++)
            if (fs[i]![0] === 'fingerprint') crowdAt = lookups.push(fs[i]![2].crowd) - 1
        // The session's or API key's standing (see CLAIMED), then the handoff.
        pending.bornAt = lookups.length
        for (let i = 0; i < fs.length; i++)
          if (CLAIMED.has(fs[i]![0])) {
            lookups.push(fs[i]![2].born)
            ;(pending.claims ??= []).push(i)
          }
        if (handoffKey) pending.handoffAt = lookups.push(handoffKey) - 1
        const flagged = store.flagged(lookups, now)
        const scores = store.scores(scoreKeys, halfLife, now)
        // No closure here: one over this function's locals would cost a context per request.
        if (flagged instanceof Promise || scores instanceof Promise)
          return judgeLater(flagged, scores, ctx, now, pending, states, flows, flowAt, crowdAt)
        return decide(ctx, now, pending, states, flows, flagged, flowAt, crowdAt, scores)
      },
      observe: function behaviorObserve(ctx: RequestContext, outcome: Outcome, decision: Decision) {
        const p = (ctx.local(PENDING) as Pending | undefined) ?? refusedEarly(ctx, decision)
        if (!p) return
        const now = clock.now()
        const signals = p.fired
        if (
          !outcome.byGateway &&
          spec.signals.errors > 0 &&
          p.tracker.outcome(outcome.status, spec.errors) === 'errors'
        )
          signals.push('errors')
        for (const v of decision.verdicts) {
          if (v.monitor) continue
          if (v.rule.startsWith('limits.') && (v.action === 'throttle' || v.action === 'block'))
            signals.push('limit')
          if ((v.data as { signal?: string } | undefined)?.signal === 'tampering')
            signals.push('tampering')
          if (v.rule.startsWith('auth.') && v.status === 403) signals.push('forbidden')
        }
        let delta = 0
        for (const s of signals)
          if (p.tracker.cool(s, now, spec.cooldown))
            delta += spec.signals[s] + (s === 'relay' ? p.inherited : 0)
        // A skipped flow adds its own weight (each flow may weigh differently).
        for (const v of decision.verdicts)
          if (
            !v.monitor &&
            v.rule.startsWith('behavior.flow.') &&
            p.tracker.cool('flow', now, spec.cooldown)
          )
            delta += (v.data as { weight: number }).weight
        const writes: MaybePromise<unknown>[] = []
        // Facets seen together share risk: a bot that rotates IPs keeps its account, session
        // and fingerprint, and every one of them carries the score.
        if (delta > 0) {
          for (const [, , keys] of p.facets)
            writes.push(store.addScore(keys.risk, delta, halfLife, now))
          if (p.fpNet !== undefined) writes.push(store.addScore(p.fpNet, delta, halfLife, now))
        }
        const succeeded = !outcome.byGateway && outcome.status >= 200 && outcome.status < 300
        // A `once` flow's step taken in check is put back only when the backend cannot have
        // acted on the request: the gateway did not forward it, or the backend refused it (4xx).
        // A success spends it; so do a 5xx, a 504 and a client that left before the answer
        // (the backend may have booked anyway).
        if (p.claimed) {
          const forwarded =
            decision.action === 'allow' || decision.action === 'log' || decision.action === 'delay'
          const refused = !outcome.byGateway && outcome.status >= 400 && outcome.status < 500
          if (!forwarded || refused)
            for (const c of p.claimed) writes.push(addStep(c.key, c.at, c.within, now))
        }
        if (succeeded) {
          for (let f = 0; f < p.steps.length; f++) {
            const flow = p.steps[f]!
            for (let b = 0; b < flow.by.length; b++) {
              const by = flow.by[b]!
              const v = ctx.identity[by]
              if (typeof v !== 'string' || !v) continue
              const key = `flow:${flow.id}:${by}:${v}`
              writes.push(
                flow.once
                  ? addStep(key, now, flow.within, now)
                  : store.flag(key, String(now), flow.within, now),
              )
            }
          }
        }
        // A refusal on a templated route is remembered for a new client that retries it: the
        // first few of each refused client in the window. Only refusals the client can see: a
        // deceived client got a (fake) success, so it neither rotates nor retries over it, and
        // counting its fakes would use up the few handoffs before the refusal it does retry —
        // but a deceit that reads as a refusal (a chaos 403 for a client that sprang a trap, a
        // 429 from a full tarpit) is one, and a bot rotates over it like over any other.
        // Nor a proof-of-work puzzle: the client that answers it retries the very request, and
        // one that keeps no cookies (an app) would look like a new identity taking over.
        if (
          spec.signals.relay > 0 &&
          !decision.decisive?.monitor &&
          SEVERITY[decision.action] >= SEVERITY.throttle &&
          (decision.action !== 'deceive' || readsAsRefusal(outcome)) &&
          decision.decisive?.data?.pow === undefined &&
          p.ids !== undefined
        ) {
          const n = firstNumeric(p.ids)
          const handoff = relays.refused(p.self, p.score, n ? p.tracker.stride(n.key) : 0, now)
          if (handoff)
            writes.push(
              store.flag(`relay:${ctx.method} ${ctx.pathKey}`, handoff, spec.relay.window, now),
            )
        }
        for (const w of writes) if (w instanceof Promise) w.catch(() => {})
      },
      async forget(f) {
        let n = 0
        const now = clock.now()
        for (const facet of SCORED) {
          for (const v of f[facet] ?? []) {
            // An account's risk as proven and as merely named.
            for (const as of facet === 'account' ? (['account', 'claim'] as const) : [facet]) {
              const key = `risk:${as}:${v}`
              const current = await store.addScore(key, 0, halfLife, now)
              if (current !== 0) await store.addScore(key, -current, halfLife, now)
              await store.unflag(`penalty:${as}:${v}`)
            }
            n++
          }
        }
        // A browser build's risk on the networks named with it (IPv4: the address; an IPv6
        // network's decays with its half-life).
        for (const fp of f.fingerprint ?? [])
          for (const ip of f.ip ?? []) {
            const key = netRisk.two(fp, ip)
            const current = await store.addScore(key, 0, halfLife, now)
            if (current !== 0) await store.addScore(key, -current, halfLife, now)
          }
        return n
      },
    }

    /**
     * The working state for a request an earlier layer refused before this one ran (a contract
     * or auth refusal, a limit's block stop the pipeline): its signals — tampering, forbidden,
     * limit — must still count against the client, or a bot probing admin routes with a
     * customer's token, or tampering with parameters, would never build up any risk.
     */
    function refusedEarly(ctx: RequestContext, decision: Decision): Pending | undefined {
      if (SEVERITY[decision.action] < SEVERITY.throttle) return undefined
      fingerprint(ctx)
      const id = ctx.identity
      const tracked = trackKey(id)
      return {
        facets: facetsOf(id),
        tracker: trackers.get(tracked),
        fired: [],
        steps: [],
        guarded: [],
        claimed: undefined,
        self: relayKey(id, tracked),
        who: '',
        newDevice: false,
        handoffAt: -1,
        ids: idRoute(ctx),
        bornAt: 0,
        claims: undefined,
        score: 0,
        inherited: 0,
        fpNet: fpNetOf(ctx),
      }
    }

    /** {@link decide} once the store has answered (Redis). */
    function judgeLater(
      flagged: MaybePromise<readonly (string | undefined)[]>,
      scores: MaybePromise<readonly number[]>,
      ctx: RequestContext,
      now: number,
      p: Pending,
      states: readonly ('headers' | 'toolAgent')[],
      flows: readonly FlowRuleSpec[],
      flowAt: number,
      crowdAt: number,
    ): Promise<Verdict | Verdict[] | undefined> {
      return Promise.all([flagged, scores]).then(
        ([fl, sc]) => decide(ctx, now, p, states, flows, fl, flowAt, crowdAt, sc),
        () => undefined,
      )
    }

    function decide(
      ctx: RequestContext,
      now: number,
      p: Pending,
      states: readonly ('headers' | 'toolAgent')[],
      flows: readonly FlowRuleSpec[],
      flags: readonly (string | undefined)[],
      flowAt: number,
      crowdAt: number,
      scores: readonly number[],
    ): MaybePromise<Verdict | Verdict[] | undefined> {
      // A new identity taking over from a refused one: the handoff looked up with the flags.
      if (p.handoffAt >= 0) {
        const inherited = relays.judge(
          p.self,
          p.who,
          p.newDevice,
          ctx.pathKey,
          p.ids!.template,
          firstNumeric(p.ids)?.id,
          flags[p.handoffAt],
          now,
        )
        if (inherited >= 0) {
          p.fired.push('relay')
          p.inherited = inherited
        }
      }
      const out: Verdict[] = []
      // Flows: the guarded step needs a completed first step by any of the `by` facets. A
      // `once` flow's step is taken from the store here, atomically, so requests sent side by
      // side cannot share one: of those, only the first to take it is let through.
      let k = 0
      let violated: FlowRuleSpec[] | undefined
      let takes: MaybePromise<string | undefined>[] | undefined
      let taking: [FlowRuleSpec, string][] | undefined
      for (let f = 0; f < flows.length; f++) {
        const flow = flows[f]!
        let seen = false
        for (let b = 0; b < flow.by.length; b++) {
          const by = flow.by[b]!
          const v = ctx.identity[by]
          if (typeof v !== 'string' || !v) continue
          if (flags[flowAt + k++] === undefined) continue
          seen = true
          if (flow.once) {
            const key = `flow:${flow.id}:${by}:${v}`
            ;(taking ??= []).push([flow, key])
            ;(takes ??= []).push(store.take(key, now))
          }
        }
        if (!seen) (violated ??= []).push(flow)
      }
      if (takes === undefined)
        return judged(ctx, now, p, states, violated, flags, crowdAt, scores, out)
      const settle = (taken: readonly (string | undefined)[]) => {
        // Each flow's oldest unused step is this request's, taken from every key it was recorded
        // under (one per `by` facet); the other steps go back for the next requests.
        const steps = taken.map((v, i) => stepsOf(v, now, taking![i]![0].within))
        const oldest = new Map<FlowRuleSpec, number>()
        for (let i = 0; i < steps.length; i++) {
          const flow = taking![i]![0]
          const first = steps[i]![0]
          if (first !== undefined && !(first >= (oldest.get(flow) ?? Infinity)))
            oldest.set(flow, first)
        }
        const got = new Set<FlowRuleSpec>()
        for (let i = 0; i < steps.length; i++) {
          const [flow, key] = taking![i]!
          const at = oldest.get(flow)
          const own = steps[i]!
          const j = at === undefined ? -1 : own.indexOf(at)
          if (j >= 0) {
            own.splice(j, 1)
            got.add(flow)
            ;(p.claimed ??= []).push({ key, at: at!, within: flow.within })
          }
          putSteps(key, own, flow.within, now)
        }
        for (const [flow] of taking!)
          if (!got.has(flow) && !violated?.includes(flow)) (violated ??= []).push(flow)
        return judged(ctx, now, p, states, violated, flags, crowdAt, scores, out)
      }
      return takes.some((t) => t instanceof Promise)
        ? Promise.all(takes).then(settle, () => settle([]))
        : settle(takes as (string | undefined)[])
    }

    /** Stores a `once` flow's unused steps (nothing when there are none). */
    function putSteps(key: string, steps: readonly number[], within: number, now: number) {
      if (steps.length === 0) return
      const r = store.flag(key, steps.join(','), within - (now - steps[steps.length - 1]!), now)
      if (r instanceof Promise) r.catch(() => {})
    }

    /**
     * Adds a step recorded `at` to a `once` flow's unused ones: each unlocks one guarded
     * request. (Taken and put back: a step recorded at that very moment by a parallel request
     * may be lost, never doubled.)
     */
    function addStep(key: string, at: number, within: number, now: number): MaybePromise<void> {
      const add = (value: string | undefined) => {
        const steps = stepsOf(value, now, within)
        steps.push(at)
        steps.sort((a, b) => a - b)
        putSteps(key, steps.slice(-MAX_STEPS), within, now)
      }
      const taken = store.take(key, now)
      return taken instanceof Promise ? taken.then(add) : add(taken)
    }

    /** The rest of {@link decide}: violated flows' verdicts, then the risk score. */
    function judged(
      ctx: RequestContext,
      now: number,
      p: Pending,
      states: readonly ('headers' | 'toolAgent')[],
      violated: readonly FlowRuleSpec[] | undefined,
      flags: readonly (string | undefined)[],
      crowdAt: number,
      scores: readonly number[],
      out: Verdict[],
    ): Verdict | Verdict[] | undefined {
      const { facets: fs, fired } = p
      for (const flow of violated ?? []) {
        const direct = flow.action
        out.push({
          action: direct ?? 'log',
          rule: `behavior.flow.${flow.id}`,
          reason: `${ctx.method} ${ctx.path} without ${flow.after.paths.join(' or ')} first (within ${flow.within / 1000}s)`,
          monitor: (flow.mode ?? spec.mode ?? deps.mode) === 'monitor',
          ...(direct && flow.status ? { status: flow.status } : {}),
          data: { signal: 'flow', weight: flow.weight ?? spec.signals.flow },
        })
      }

      // Score: a client with its own session, account or API key is judged by those, plus at
      // most `sharedFacetCap` from what it shares with others (fingerprint, IP); an anonymous
      // client only has the shared facets. A crowd's fingerprint (a browser build that known
      // devices use) is capped for everyone: a bot that copied it cannot lock out newcomers.
      const crowdFp = crowdAt >= 0 && flags[crowdAt] !== undefined
      // A session or API key counts as the client's own once established (see CLAIMED).
      let own = false
      let fresh: number[] | undefined
      let build: string | undefined
      for (let i = 0; i < fs.length; i++) {
        const f = fs[i]![0]
        if (!STRONG.has(f)) continue
        if (!CLAIMED.has(f)) {
          own = true
          continue
        }
        const born = flags[p.bornAt + p.claims!.indexOf(i)]
        if (born === (build ??= buildOf(ctx.headers))) own = true
        else (fresh ??= []).push(i)
      }
      // Whether the request itself carries a signal (see the browser build's risk below).
      const corroborated = (violated !== undefined && violated.length > 0) || fired.length > 0
      let strong = 0
      let shared = 0
      let cappedMax = 0
      // Which facets carry the strong and the shared risk: named only in a verdict's reason,
      // so the text is made only when there is one (most requests get none).
      let strongAt = -1
      let sharedAt = -1
      for (let i = 0; i < fs.length; i++) {
        const f = fs[i]![0]
        let s = (scores[i] ?? 0) * weights[f]
        // Capped for everyone: a crowd's fingerprint, and an account claim — anyone can name an
        // account, so what a brute force ran up on it is not the next claimant's (the
        // per-account limits hold the brute force, for as long as they are configured to).
        let capped = (crowdFp && f === 'fingerprint') || f === 'claim'
        // A browser build: in full what was run up on this network, else the cap (fpNetOf) —
        // unless this very request shows what the bots on the build did (a skipped flow, a
        // sweep, a metronome pace): then it is judged as one of them (carding from a new
        // address per attempt, each a checkout without a cart, is held by the build's risk).
        if (f === 'fingerprint' && p.fpNet !== undefined && !crowdFp && !corroborated) {
          const here = (scores[fs.length] ?? 0) * weights.fingerprint
          if (here >= Math.min(s, spec.sharedFacetCap)) s = here
          else capped = true
        }
        if (capped) {
          s = Math.min(s, spec.sharedFacetCap)
          if (s > cappedMax) cappedMax = s
        }
        if (STRONG.has(f)) {
          if (s > strong) {
            strong = s
            strongAt = i
          }
        } else if (s > shared) {
          shared = s
          sharedAt = i
        }
      }
      if (own) shared = Math.min(shared, spec.sharedFacetCap)
      let score = strong + shared
      for (let i = 0; i < states.length; i++) score += spec.signals[states[i]!]
      // A trap flag counts with the weight of the facet it is on: certain on a session or an
      // account, weak on an IP that many people may share.
      let trap = 0
      let weakTrap = 0
      let penalty: Penalty | undefined
      const id = ctx.identity
      for (let i = 0; i < fs.length; i++) {
        const f = fs[i]![0]
        const weak = (own && !STRONG.has(f)) || (crowdFp && f === 'fingerprint') || f === 'claim'
        const flag = flags[i * 2]
        if (flag !== undefined) {
          const t = spec.signals.trap * weights[f]
          // A trap on a shared facet is certain only with the other half of the client that
          // sprang it (as chaos is, docs/deception.md): a browser build's trap on another
          // network, an IP's with another browser build, is weak — a newcomer with the bots'
          // stock headers elsewhere is not judged as the bot (red team 9: 4 of 20 people
          // could not sign in after bots trapped on their header sets).
          if (weak || !sameClient(flag, f, id)) weakTrap = Math.max(weakTrap, t)
          else trap = Math.max(trap, t)
        }
        const pen = flags[i * 2 + 1]
        // A penalty on a shared facet does not follow a client that has its own identity, and
        // a browser build's holds on the network it was earned on: elsewhere that build is
        // judged by its risk, as anyone on it is.
        if (pen !== undefined && !weak) {
          const p = f === 'fingerprint' ? penaltyOn(pen, id.ipPrefix, now) : parsePenalty(pen)
          if (p && (!penalty || SEVERITY[p.action] > SEVERITY[penalty.action])) penalty = p
        }
      }
      // One budget for what is shared: a trap on a shared facet fits, with that facet's risk,
      // within `sharedFacetCap` (for a client with its own identity, every shared facet; for
      // anyone, a crowd's fingerprint and an account claim). Bots that trapped on a popular
      // browser build and ran up its risk cannot put its people at twice the cap.
      const room = Math.max(0, spec.sharedFacetCap - (own ? shared : cappedMax))
      trap = Math.max(trap, Math.min(weakTrap, room))
      score += trap
      // Fired signals count from the next request on (observe adds them to the risk), but a
      // relay is judged at once: it carries the refused client's risk on this very request.
      const relayed = fired.includes('relay')
      if (relayed) score += spec.signals.relay + p.inherited
      p.score = score
      let level: (typeof thresholds)[number] | undefined
      for (const t of thresholds) if (score >= t.score) level = t
      const act =
        penalty && (!level || SEVERITY[penalty.action] >= SEVERITY[level.action])
          ? penalty
          : undefined
      if (level || act) {
        const earned = act ? act.action : level!.action
        // No fakes on the routes `deceive.except` names (sign-in): the refusal instead.
        const honest =
          earned === 'deceive' &&
          noDeceive !== undefined &&
          noDeceive.all(ctx.method, ctx.pathKey).length > 0
        const action = honest ? spec.deceive.instead : earned
        const parts = explain(
          spec.signals,
          fs,
          strongAt >= 0 && strong > 0 ? [strongAt, strong] : undefined,
          sharedAt >= 0 && shared > 0 ? [sharedAt, shared] : undefined,
          crowdFp,
          states,
          trap,
          fired,
          relayed ? spec.signals.relay + p.inherited : 0,
        )
        const summary = Object.entries(parts)
          .map(([n, w]) => `${n} ${w}`)
          .join(', ')
        const instead = honest
          ? `; ${action} instead of deceive on this route (deceive.except)`
          : ''
        const verdict: Verdict = {
          action,
          rule: act ? act.rule : `behavior.risk`,
          reason: act
            ? `penalty until ${new Date(act.until).toISOString()} (risk ${round(score)}${summary ? `: ${summary}` : ''})${instead}`
            : `risk ${round(score)} ≥ ${level!.score}${summary ? `: ${summary}` : ''}${instead}`,
          monitor,
          ...(action === 'delay' ? { delayMs: level?.delay ?? 1_000 } : {}),
          // A threshold's status is for its own action, not for the one given instead.
          ...(level?.status && !act && !honest ? { status: level.status } : {}),
          // A `deceive` answers with a fake success (the engine shapes it: engine.ts).
          data: { score: round(score), signals: parts, threshold: level?.score },
        }
        out.push(verdict)
        // Crossing a threshold with a duration sets a penalty on each facet that carries the
        // risk by itself — never on an IP that only shares in it, so an office is not punished.
        if (!act && level?.for && !monitor) {
          const penalty: Penalty & { reason: string; at: number } = {
            action: level.action,
            rule: `behavior.penalty.${level.action}`,
            reason: verdict.reason,
            until: now + level.for,
            at: now,
          }
          const pen = JSON.stringify(penalty)
          fs.forEach(([f, v], i) => {
            // An IP is penalised only when its own share of risk crosses the threshold.
            if (f === 'ip' && (scores[i] ?? 0) * weights.ip < level!.score) return
            // Nor on a crowd's fingerprint (it would hold everyone on that browser build), nor
            // on an account claim (it would lock the account's owner out).
            if ((f === 'fingerprint' && crowdFp) || f === 'claim') return
            // A browser build's penalties are kept per network, each where it was earned: one
            // earned on another network must not replace this one (see penaltyOn).
            const [value, ttl] =
              f === 'fingerprint'
                ? withNetPenalty(flags[i * 2 + 1], id.ipPrefix, penalty, now)
                : [pen, level!.for!]
            const r = store.flag(`penalty:${f}:${v}`, value, ttl, now)
            if (r instanceof Promise) r.catch(() => {})
          })
        }
      }
      // A session or API key not yet established (here, with this User-Agent) is, once a
      // request with it is judged clean (nothing here acted on it); one first seen on a request
      // that was not, is marked so.
      if (fresh !== undefined) {
        let clean = true
        for (const v of out) if (v.action !== 'log' && v.action !== 'allow') clean = false
        for (const i of fresh) {
          const key = fs[i]![2].born
          const r = clean
            ? store.flag(key, build!, BORN_TTL, now)
            : flags[p.bornAt + p.claims!.indexOf(i)] === undefined
              ? store.flagOnce(key, 't', BORN_TTL, now)
              : undefined
          if (r instanceof Promise) r.catch(() => {})
        }
      }
      return out.length === 0 ? undefined : out.length === 1 ? out[0] : out
    }
  },
}

interface Penalty {
  readonly action: Verdict['action']
  readonly rule: string
  readonly until: number
}

/**
 * Whether a trap flag is this client's: always on its own facets; on a shared one (fingerprint,
 * IP) when this client set it, or the flag does not say who did.
 */
function sameClient(flag: string, facet: string, id: Readonly<Identity>): boolean {
  return (facet !== 'fingerprint' && facet !== 'ip') || setByClient(flag, facet, id) !== false
}

function parsePenalty(raw: string): Penalty | undefined {
  try {
    return asPenalty(JSON.parse(raw))
  } catch {
    return undefined
  }
}

function asPenalty(v: unknown): Penalty | undefined {
  const p = v as Penalty | null
  return typeof p?.action === 'string' && p.action in SEVERITY && typeof p.until === 'number'
    ? p
    : undefined
}

/** Networks a browser build keeps penalties on at most (those that end last). */
const MAX_PENALTY_NETS = 8

/**
 * A browser build's penalties by the network (`ipPrefix`) each was earned on; `*` for one
 * stored before penalties were kept per network without naming one (it holds anywhere).
 * One build is many people, and bots on its stock headers elsewhere earn penalties of their
 * own: with one penalty per build, the latest earned anywhere replaced the others — a throttle
 * earned on one network lifted a bot's deceive on another.
 */
function netPenalties(raw: string | undefined): Map<string, Penalty> {
  const out = new Map<string, Penalty>()
  if (raw === undefined) return out
  try {
    const v = JSON.parse(raw) as { nets?: Record<string, unknown>; net?: string }
    if (v && typeof v.nets === 'object' && v.nets !== null) {
      for (const [net, p] of Object.entries(v.nets)) {
        const ok = asPenalty(p)
        if (ok) out.set(net, ok)
      }
    } else {
      const one = asPenalty(v)
      if (one) out.set(typeof v.net === 'string' ? v.net : '*', one)
    }
  } catch {
    // A value that does not parse holds nothing.
  }
  return out
}

/** The last parsed build penalties (a flood repeats the same stored value). */
let lastNetRaw: string | undefined
let lastNets: Map<string, Penalty> = new Map()

/** A browser build's penalty on network `net`, if one is in force there. */
function penaltyOn(raw: string, net: string, now: number): Penalty | undefined {
  if (raw !== lastNetRaw) {
    lastNets = netPenalties(raw)
    lastNetRaw = raw
  }
  const p = lastNets.get(net) ?? lastNets.get('*')
  return p !== undefined && p.until > now ? p : undefined
}

/**
 * The build's stored penalties with `penalty` set for `net` (expired ones dropped; of more
 * than {@link MAX_PENALTY_NETS} networks, those ending last are kept), and how long to keep
 * the value: until the last of them ends.
 */
function withNetPenalty(
  raw: string | undefined,
  net: string,
  penalty: Penalty,
  now: number,
): [string, number] {
  const nets = netPenalties(raw)
  nets.set(net, penalty)
  const kept = [...nets].filter(([, p]) => p.until > now)
  kept.sort((a, b) => b[1].until - a[1].until)
  kept.length = Math.min(kept.length, MAX_PENALTY_NETS)
  // Latest end first; `penalty` itself is in force, so there is one.
  return [JSON.stringify({ nets: Object.fromEntries(kept) }), kept[0]![1].until - now]
}

/** A route parameter's sweep key, `template#param`: a handful per config, built once each. */
const SWEEP_KEYS = new KeyCache<string>(([t, k]) => `${t}#${k}`)
function sweepKey(template: string, param: string): string {
  return SWEEP_KEYS.two(template, param)
}

/** A gateway's answer a client takes for a refusal, whatever the decision behind it. */
function readsAsRefusal(outcome: Outcome): boolean {
  return outcome.byGateway && (outcome.status === 403 || outcome.status === 429)
}

/** A client's tracker key, its relay key and their parts: built once per client. */
const CLIENT_KEYS = {
  s: new KeyCache<string>(([v]) => `s:${v}`),
  a: new KeyCache<string>(([v]) => `a:${v}`),
  k: new KeyCache<string>(([v]) => `k:${v}`),
  f: new KeyCache<string>(([v]) => `f:${v}`),
  fip: new KeyCache<string>(([fp, ip]) => `f:${fp}|${ip}`),
  fd: new KeyCache<string>(([self, device]) => `${self}#d:${device}`),
}

/** An anonymous client's tracker key: a fingerprint on one IP. */
function fipKey(id: Identity): string {
  return CLIENT_KEYS.fip.two(id.fingerprint ?? '', id.ip)
}

const SEEN_KEYS = 10_000

/**
 * A client's key for relays: what it keeps when it changes IP — the identity it is tracked
 * by (a verified account, a session or API key seen before), else its fingerprint.
 */
function relayKey(id: Identity, tracked: string): string {
  return tracked === strongKey(id) ? tracked : CLIENT_KEYS.f.one(id.fingerprint ?? '')
}

/** A verified account, else a session, else an API key. */
function strongKey(id: Identity): string | undefined {
  return id.account && id.accountVerified
    ? CLIENT_KEYS.a.one(id.account)
    : id.session
      ? CLIENT_KEYS.s.one(id.session)
      : id.apiKey
        ? CLIENT_KEYS.k.one(id.apiKey)
        : undefined
}

function hasParams(params: Readonly<Record<string, string>>): boolean {
  for (const _ in params) return true
  return false
}

type IdRoute = Pick<NonNullable<RequestContext['documented']>, 'template' | 'params'> | undefined

/**
 * The templated route a request's ids are read from: the gateway route when it has
 * parameters, else the OpenAPI operation the contract layer matched (`/api/*` in the config,
 * `/api/products/{id}` in the document); undefined when neither names a parameter.
 */
function idRoute(ctx: RequestContext): IdRoute {
  if (hasParams(ctx.route.params)) return ctx.route
  const d = ctx.documented
  return d && hasParams(d.params) ? d : undefined
}

/** The first numeric path parameter: its sweep key (`template#param`) and value. */
function firstNumeric(r: IdRoute): { key: string; id: number } | undefined {
  if (!r) return undefined
  for (const k in r.params) {
    const n = digitsValue(r.params[k]!)
    if (n >= 0) return { key: sweepKey(r.template, k), id: n }
  }
  return undefined
}

/**
 * The signals and weights behind a score, for a verdict's reason and data: made only when
 * there is a verdict (a closure over the score's locals would cost a context per request).
 * `strong`/`shared`: the facet carrying that risk (its index in `fs`) and the risk.
 */
function explain(
  signals: Readonly<Record<SignalName | 'headers' | 'toolAgent', number>>,
  fs: readonly Facet[],
  strong: readonly [number, number] | undefined,
  shared: readonly [number, number] | undefined,
  crowdFp: boolean,
  states: readonly ('headers' | 'toolAgent')[],
  trap: number,
  fired: readonly SignalName[],
  relay: number,
): Record<string, number> {
  const parts: Record<string, number> = {}
  if (strong) parts[`risk of ${fs[strong[0]]![0]} ${fs[strong[0]]![1]}`] = round(strong[1])
  if (shared) {
    const [f, v] = fs[shared[0]]!
    parts[`risk of ${f} ${v}${crowdFp && f === 'fingerprint' ? " (a crowd's)" : ''}`] = round(
      shared[1],
    )
  }
  for (const s of states) parts[s] = signals[s]
  if (trap > 0) parts.trap = round(trap)
  for (const s of fired) parts[s] = (parts[s] ?? 0) + signals[s]
  if (relay > 0) parts.relay = round(relay)
  return parts
}

function round(n: number): number {
  return Math.round(n * 10) / 10
}
