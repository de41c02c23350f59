import { z } from 'zod'
import { duration } from '../../config/units.js'
import { SEVERITY } from '../../engine/types.js'
import { action, method, mode, routePattern, ruleId } from '../common.js'

const weight = z.number().min(0).max(1000)

export const FlowRule = z.strictObject({
  id: ruleId,
  /** The guarded step: `POST /api/checkout`… */
  paths: z.array(routePattern).min(1),
  methods: z.array(method).default([]),
  /** …requires an earlier successful (2xx) request to one of these… */
  after: z.strictObject({
    paths: z.array(routePattern).min(1),
    methods: z.array(method).default([]),
  }),
  /** …by the same client (any of these facets)… */
  by: z
    .array(z.enum(['session', 'account', 'apiKey', 'device', 'fingerprint', 'ip']))
    .min(1)
    .default(['session', 'account']),
  /** …within this long. */
  within: duration.default(30 * 60_000),
  /**
   * Each earlier step unlocks one guarded request: the guarded request takes a step as it is
   * checked (atomically: of requests sent side by side, one per step gets through) and gives it
   * back only if the backend cannot have acted on it (refused at the gateway, or a 4xx). Fifty
   * transfers need fifty account views, not one.
   */
  once: z.boolean().default(false),
  /** Risk added on a violation (default: `signals.flow`). */
  weight: weight.optional(),
  /** Act directly on a violation instead of (as well as) adding risk. */
  action: action.optional(),
  status: z.number().int().min(400).max(599).optional(),
  mode: mode.optional(),
})

export const Threshold = z.strictObject({
  score: z.number().positive(),
  action,
  /** Keep acting for this long once crossed (a penalty on the client's strongest facets). */
  for: duration.optional(),
  /** For `delay`: how long. */
  delay: duration.default(1_000),
  status: z.number().int().min(400).max(599).optional(),
})

/**
 * A higher score must never get a milder action: `block` at 40 and `throttle` at 100 would let
 * the riskiest clients off more lightly than the merely suspicious.
 */
function escalating(ctx: z.core.ParsePayload<z.output<typeof Threshold>[]>): void {
  const sorted = ctx.value.map((t, i) => ({ t, i })).sort((a, b) => a.t.score - b.t.score)
  for (let k = 1; k < sorted.length; k++) {
    const low = sorted[k - 1]!
    const high = sorted[k]!
    if (SEVERITY[high.t.action] < SEVERITY[low.t.action])
      ctx.issues.push({
        code: 'custom',
        input: high.t,
        path: [high.i, 'action'],
        message: `score ${high.t.score} gets ${high.t.action}, milder than ${low.t.action} at score ${low.t.score}: a higher score must not get a milder action (order: log, delay, throttle, challenge, deceive, block)`,
      })
  }
}

/** `behavior:` — flows, bot signals, a decaying risk score per identity and graded actions. */
export const BehaviorSpec = z.strictObject({
  /** Risk halves every `halfLife`, so a client that stops misbehaving recovers. */
  halfLife: duration.default(10 * 60_000),
  /**
   * How much each facet's risk counts toward a request's score. Facets seen together share
   * risk (every signal is added to all of them); an IP counts little because many people can
   * share one (an office, a carrier NAT).
   */
  facetWeights: z
    .strictObject({
      account: weight.default(1),
      session: weight.default(1),
      apiKey: weight.default(1),
      device: weight.default(1),
      fingerprint: weight.default(0.6),
      ip: weight.default(0.3),
    })
    .prefault({}),
  /**
   * Most that shared facets (fingerprint, IP — many people can have the same ones) add to the
   * score of a client that has its own session, account or API key. Anonymous clients are
   * judged by their shared facets in full: there is nothing else to tell them apart.
   */
  sharedFacetCap: z.number().min(0).default(30),
  /**
   * A fingerprint seen with `clients` distinct clients that have an identity of their own — a
   * trusted device cookie (`identity.device`), or an account a verified token names (`auth`) —
   * within `window` is a crowd's (a popular browser build, an app's one header set), not one
   * client's: its risk is capped at `sharedFacetCap` for everyone, and no penalty is set on it
   * or read from it. 0 turns it off.
   */
  crowd: z
    .strictObject({
      clients: z.number().int().min(0).default(3),
      window: duration.default(24 * 60 * 60_000),
    })
    .prefault({}),
  /** Weight of each signal. 0 turns a signal off. */
  signals: z
    .strictObject({
      /** A honeypot, canary or undocumented-endpoint flag on the client. */
      trap: weight.default(100),
      /** A limits rule throttled or blocked the client. */
      limit: weight.default(10),
      /** The contract layer refused a tampered request. */
      tampering: weight.default(15),
      /** An auth rule refused a valid token without the scope or role a route needs (403). */
      forbidden: weight.default(20),
      /** A flow was skipped (checkout without cart). */
      flow: weight.default(40),
      /** Inter-arrival times as regular as a metronome. */
      regularity: weight.default(25),
      /** Mostly 404s and errors: exploring for endpoints. */
      errors: weight.default(25),
      /** Sequential ids on a templated route. */
      sweep: weight.default(30),
      /**
       * A new client that picks up exactly where a refused client stopped (retries the request
       * it was refused, then goes on): the same actor behind a fresh IP and browser. Adds this
       * weight plus the refused client's own risk (`relay.maxInherited` at most).
       */
      relay: weight.default(100),
      /** Faster than the route's norm (`velocity`). */
      velocity: weight.default(15),
      /** Browser claims that its headers contradict (per request, not accumulated). */
      headers: weight.default(15),
      /** A scripting tool's User-Agent (per request, not accumulated). */
      toolAgent: weight.default(10),
    })
    .prefault({}),
  /** An accumulating signal fires at most once per client per cooldown. */
  cooldown: duration.default(20_000),
  regularity: z
    .strictObject({
      samples: z.number().int().min(4).max(64).default(12),
      /** Coefficient of variation below which timing counts as scripted. */
      maxCv: z.number().positive().max(1).default(0.15),
      /** Only gaps shorter than this count (a page that polls every 30s is not a bot). */
      maxInterval: duration.default(5_000),
      /** Gaps shorter than this are ignored (a page loading twenty thumbnails at once). */
      minInterval: duration.default(50),
    })
    .prefault({}),
  errors: z
    .strictObject({
      samples: z.number().int().min(4).max(100).default(12),
      /** Share of 404/405 answers that counts as exploration. */
      notFoundRatio: z.number().positive().max(1).default(0.5),
      /** Share of 4xx/5xx answers. */
      errorRatio: z.number().positive().max(1).default(0.8),
    })
    .prefault({}),
  sweep: z
    .strictObject({
      /** Consecutive equal steps between numeric ids that count as a sweep. */
      run: z.number().int().min(3).default(6),
      maxStride: z.number().int().min(1).default(5),
    })
    .prefault({}),
  /** The `relay` signal: linking a new identity to the refused one it takes over from. */
  relay: z
    .strictObject({
      /** How long a refused request on a templated route is remembered for a relay. */
      window: duration.default(5 * 60_000),
      /**
       * An identity may be a relay only when one of its first `fresh` requests is a refused
       * one (identities are session, account, API key or fingerprint: not the IP).
       */
      fresh: z.number().int().min(1).max(100).default(1),
      /**
       * Refused requests remembered per refused client at once, then one more each
       * `window / perClient` (a flood is not all kept; a later refusal still is).
       */
      perClient: z.number().int().min(1).max(100).default(4),
      /** Most of the refused client's risk that its relay inherits. */
      maxInherited: z.number().min(0).max(10_000).default(300),
    })
    .prefault({}),
  /** Normal rates per route: faster is the `velocity` signal. */
  velocity: z
    .array(
      z.strictObject({
        paths: z.array(routePattern).min(1),
        methods: z.array(method).default([]),
        limit: z.number().int().positive(),
        window: duration,
      }),
    )
    .default([]),
  flows: z.array(FlowRule).default([]),
  /** Score → action. The highest threshold reached applies. */
  thresholds: z
    .array(Threshold)
    .check(escalating)
    .default([
      { score: 40, action: 'log', delay: 1_000 },
      { score: 70, action: 'delay', delay: 1_500 },
      { score: 100, action: 'throttle', for: 5 * 60_000, delay: 1_000 },
      { score: 150, action: 'deceive', for: 15 * 60_000, delay: 1_000 },
      { score: 250, action: 'block', for: 30 * 60_000, delay: 1_000 },
    ]),
  /**
   * Routes on which this layer does not deceive: a `deceive` there — a threshold's, or a
   * penalty's earned elsewhere — is answered with `instead`. Sign-in and sign-up above all: a
   * person misjudged by the risk they share with bots (an office IP, a stock browser build)
   * then sees a refusal they can wait out and retry, not a fake session that fails on every
   * later request. Bots get the refusal too on those routes; everywhere else they keep getting
   * fakes.
   */
  deceive: z
    .strictObject({
      except: z.array(routePattern).default([]),
      instead: z.enum(['throttle', 'challenge', 'block']).default('throttle'),
    })
    .prefault({}),
  /** Most clients whose timing and outcomes are tracked in this process. */
  maxTracked: z.number().int().positive().default(100_000),
  mode: mode.optional(),
})
export type BehaviorSpec = z.output<typeof BehaviorSpec>
export type FlowRuleSpec = z.output<typeof FlowRule>
