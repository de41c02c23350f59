/**
 * The `deception` layer: catches bots by what no person touches — honeypot routes, hidden
 * fields, trap headers, canary credentials — flags every facet of the client for a while, and
 * answers flagged clients with chaos they cannot learn from. Runs first, so a trap flags its
 * client before any other layer can end the request.
 *
 * Per request, in order: honeypot route (one trie walk) → trap headers → hidden query fields →
 * canaries in headers and query (a Set lookup per candidate) → is the client flagged (one store
 * call; synchronous on the memory store) → hidden body fields and body canaries (only on their
 * routes). Writes flags (`flag:<facet>:<value>`, src/identity/flags.ts) and `flag` notices.
 * @see ../../../docs/deception.md
 */
import type {
  Identity,
  Layer,
  LayerDeps,
  MaybePromise,
  RequestContext,
  Verdict,
} from '../../engine/types.js'
import { identityFlagKeys, parseFlagValue, setByClient } from '../../identity/flags.js'
import { bodyFields } from '../../request/body.js'
import { compileRoutes, lowerKey } from '../../request/routes.js'
import { notice } from '../../telemetry/channels.js'
import type { LayerType } from '../layer-type.js'
import { compileAnswer, type Range } from './answer.js'
import { canaryInFields, canaryScanner, deriveCanaries } from './canary.js'
import { chaosVerdict, compileChaos } from './chaos.js'
import { compileFields } from './fields.js'
import { clientFlagger, storeFailed } from './flag-client.js'
import { compileHoneypots } from './honeypot.js'
import { cryptoRandom, seededRandom } from './random.js'
import { DeceptionSpec, type AnswerSpec } from './spec.js'
import { trapVerdict, type Trap, type TrapKind } from './trap.js'
import type { FakeName } from './fakes.js'

const DAY = 86_400_000
const NO_DELAY: Range = { min: 0, max: 0 }
/** Hidden fields and trap headers answer about as fast as a real form post. */
const FORM_DELAY: Range = { min: 100, max: 600 }
/** Honeypots make an explorer wait. */
const HONEYPOT_DELAY: Range = { min: 1_000, max: 3_000 }

/** Facets that name one client: a flag on one of them alone earns chaos. */
const STRONG_FLAGS: ReadonlySet<string> = new Set(['account', 'session', 'apiKey', 'device'])

export const deception: LayerType<DeceptionSpec> = {
  type: 'deception',
  spec: DeceptionSpec,
  create(spec, deps: LayerDeps): Layer {
    const { store, clock } = deps
    const random = spec.seed === undefined ? cryptoRandom() : seededRandom(spec.seed)
    const canaries = deriveCanaries(spec.canaries.secret, spec.canaries.credentials)
    if (spec.canaries.secret === undefined)
      notice({
        kind: 'deception-warning',
        level: 'warn',
        msg: 'deception.canaries.secret is not set: canaries are random per process, so other instances and restarts will not recognise them',
      })
    const modeOf = (own: AnswerSpec['mode']) => (own ?? spec.mode ?? deps.mode) === 'monitor'

    function trap(
      kind: TrapKind,
      rule: string,
      a: AnswerSpec,
      forward: boolean,
      fake: FakeName,
      delay: Range,
      flagTtl = spec.flagTtl,
    ): Trap {
      return {
        kind,
        rule,
        monitor: modeOf(a.mode),
        flagTtl: a.flagTtl ?? flagTtl,
        answer: forward ? undefined : compileAnswer(a, { fake, delay }, canaries.fill),
      }
    }

    const honeypot = compileHoneypots(
      spec.honeypots,
      spec.honeypots.map((h) =>
        trap('honeypot', `deception.${h.id}`, h, false, 'ok', HONEYPOT_DELAY),
      ),
    )
    const trapHeaders = spec.headers.map((h) => ({
      name: h.name,
      trap: trap(
        'header',
        `deception.header.${h.name}`,
        h,
        h.answer === 'forward',
        'ok',
        FORM_DELAY,
      ),
    }))
    const fields = compileFields(
      spec.fields,
      spec.fields.map((f) =>
        trap('field', `deception.field.${f.name}`, f, f.answer === 'forward', 'ok', FORM_DELAY),
      ),
    )
    const canaryTraps = new Map<string, Trap>()
    for (const name of canaries.values.keys())
      canaryTraps.set(
        name,
        trap(
          'canary',
          `deception.canary.${name}`,
          spec.canaries,
          spec.canaries.answer === 'forward',
          'unauthorized',
          NO_DELAY,
          DAY,
        ),
      )
    const scanCanaries = canaryScanner(canaries, spec.canaries.detect)
    const canaryBodies = spec.canaries.detect.bodyPaths.length
      ? compileRoutes([{ paths: spec.canaries.detect.bodyPaths, value: true }], true)
      : undefined

    const chaos = spec.chaos.enabled ? compileChaos(spec.chaos, random) : undefined
    // Where no fake may be served (sign-in, sign-up, resets: behavior.deceive.except), a flagged
    // client is throttled instead of answered with chaos: a person who shares a bot's network
    // and browser build (an office, a new device) reads "try again later", never a fake
    // session nor a random 404 on a correct password (red teams 10 and 12).
    const noFakes = deps.noFakes?.length
      ? compileRoutes([{ paths: deps.noFakes, value: true }], deps.foldCase ?? true)
      : undefined
    const chaosMonitor = modeOf(spec.chaos.mode)
    const chaosExempt = spec.chaos.exempt.length
      ? compileRoutes([{ paths: spec.chaos.exempt, value: true }], true)
      : undefined

    const fingerprint = deps.facets.getter('fingerprint')
    const session = deps.facets.getter('session')
    const apiKey = deps.facets.getter('apiKey')
    const flag = clientFlagger(store, spec.flagFacets)

    /** Fills the facets a request shows by itself, so a flag covers (and a lookup checks) them. */
    function know(ctx: RequestContext) {
      fingerprint(ctx)
      session(ctx)
      apiKey(ctx)
    }

    function sprung(ctx: RequestContext, t: Trap, reason: string): Verdict {
      const now = clock.now()
      know(ctx)
      // A monitored trap says what it would have done; it neither answers nor flags.
      if (!t.monitor) flag(ctx.identity, t.rule, reason, t.flagTtl, now)
      return trapVerdict(t, reason, random, now)
    }

    function canary(ctx: RequestContext, name: string, where: string): Verdict {
      return sprung(ctx, canaryTraps.get(name)!, `canary credential "${name}" used in ${where}`)
    }

    function chaosFor(
      ctx: RequestContext,
      keys: readonly string[],
      values: readonly (string | undefined)[],
      now: number,
    ): Verdict | undefined {
      const raw = chaosFlag(keys, values, ctx.identity)
      if (raw === undefined) return undefined
      const f = parseFlagValue(raw)
      const by = 'rule' in f ? f.rule : f.reason
      const draw = chaos!(now)
      if (!draw.forward && noFakes?.all(ctx.method, ctx.pathKey).length)
        return {
          action: 'throttle',
          rule: 'deception.chaos',
          reason: `client flagged by ${by}: throttled (no chaos where behavior.deceive.except says no fakes)`,
          monitor: chaosMonitor,
          status: 429,
          // Until the flag ends: retrying sooner is refused again.
          headers: {
            'retry-after': String(
              Math.ceil(Math.max(60_000, ('expiresAt' in f ? f.expiresAt : now) - now) / 1000),
            ),
          },
          data: { trap: 'chaos', flaggedBy: by },
        }
      return chaosVerdict(draw, by, chaosMonitor)
    }

    /**
     * The flag that earns a client chaos, or undefined. A flag on the client's own session,
     * account, API key or device cookie always does. Shared facets need corroboration: a
     * fingerprint is shared by everyone on the same browser build, an IP by a whole office, so
     * only the same client type on the same network as the flagged client counts — the IP's
     * flag says the fingerprint that set it, the fingerprint's flag the network — never two
     * flags different clients left on either half. Not for a client whose own device is trusted
     * (known for `identity.device.trustAfter`; its flag is a strong one): colleagues behind an
     * office NAT on the bot's browser build keep their answers.
     */
    function chaosFlag(
      keys: readonly string[],
      values: readonly (string | undefined)[],
      id: Readonly<Identity>,
    ): string | undefined {
      let shared: string | undefined
      for (let i = 0; i < keys.length; i++) {
        const v = values[i]
        if (v === undefined) continue
        const facet = keys[i]!.slice(5, keys[i]!.indexOf(':', 5))
        if (STRONG_FLAGS.has(facet)) return v
        if (shared !== undefined || id.deviceTrusted === true) continue
        if (setByClient(v, facet, id) === true) shared = v
      }
      return shared
    }

    function flagged(ctx: RequestContext): MaybePromise<Verdict | undefined> {
      if (!chaos || chaosExempt?.all(ctx.method, lowerKey(ctx.pathKey)).length) return undefined
      const now = clock.now()
      const keys = identityFlagKeys(ctx.identity)
      try {
        const r = store.flagged(keys, now)
        if (r instanceof Promise)
          return r.then(
            (values) => chaosFor(ctx, keys, values, now),
            (err) => void storeFailed(err, 'look up flags'),
          )
        return chaosFor(ctx, keys, r, now)
      } catch (err) {
        // Deception is not a gate: a store failure lets the request through, with a notice.
        storeFailed(err, 'look up flags')
        return undefined
      }
    }

    function inBody(
      ctx: RequestContext,
      hits: readonly number[],
    ): Promise<Verdict | undefined> | undefined {
      const forFields = fields.needsBody(hits)
      const forCanaries = canaryBodies?.all(ctx.method, lowerKey(ctx.pathKey)).length
      if (!forFields && !forCanaries) return undefined
      return bodyFields(ctx).then((body) => {
        if (!body.ok)
          return {
            action: 'block',
            rule: 'request.ambiguous-body',
            reason: body.reason,
            monitor: false,
            status: 400,
          }
        const hit = forFields ? fields.inBody(body, hits) : undefined
        if (hit) return sprung(ctx, hit.trap, `hidden field "${hit.name}" filled in the body`)
        const name = forCanaries ? canaryInFields(canaries, body) : undefined
        return name ? canary(ctx, name, 'the body') : undefined
      })
    }

    return {
      name: 'deception',
      check: function deceptionCheck(ctx) {
        const h = honeypot(ctx)
        if (h) return sprung(ctx, h, `honeypot ${ctx.method} ${ctx.path}`)
        for (const t of trapHeaders)
          if (ctx.headers[t.name] !== undefined)
            return sprung(ctx, t.trap, `trap header "${t.name}" sent`)
        const hits = fields.match(ctx)
        const q = fields.inQuery(ctx, hits)
        if (q) return sprung(ctx, q.trap, `hidden field "${q.name}" filled in the query`)
        know(ctx)
        const key = deps.facets.apiKeyValue(ctx)
        const c = scanCanaries(ctx) ?? (key === undefined ? undefined : canaries.lookup(key))
        if (c) return canary(ctx, c, 'the headers or query')
        // An enforced chaos answer ends the check; otherwise the body traps get their turn.
        const andBody = (v: Verdict | undefined) => {
          if (v && !v.monitor) return v
          const b = inBody(ctx, hits)
          if (!b) return v
          return v ? b.then((bv): Verdict | Verdict[] => (bv ? [v, bv] : v)) : b
        }
        const v = flagged(ctx)
        return v instanceof Promise ? v.then(andBody) : andBody(v)
      },
    }
  },
}
