/**
 * The engine: a compiled config that inspects requests and observes their outcomes. Both the
 * reverse proxy and the framework adapters drive it; neither decides anything itself.
 * @see ../../README.md#concepts
 */
import type { Config } from '../config/schema.js'
import { lintConfig } from '../config/lint.js'
import { withLines } from '../config/load.js'
import { ConfigError } from '../errors.js'
import type { ContractLayer } from '../layers/contract/layer.js'
import { layerTypes } from '../layers/registry.js'
import { bodyState, contextFactory, type PreparedRequest, type RawRequest } from './context.js'
import { combine, refuse } from './decision.js'
import { runLayers } from './pipeline.js'
import { fakeSuccess } from '../layers/deception/fake-success.js'
import { identityFacets } from '../identity/facets.js'
import { proofOfWork } from '../challenge/pow.js'
import { createStore } from '../store/create.js'
import type { Store } from '../store/store.js'
import {
  systemClock,
  type Clock,
  type Decision,
  type Layer,
  type LayerDeps,
  type MaybePromise,
  type Outcome,
  type RequestContext,
  type Verdict,
} from './types.js'

export interface EngineOptions {
  readonly clock?: Clock
  /** A store to share (across reloads, or with other engines); by default one is made from `config.store` and closed with the engine. */
  readonly store?: Store
  /** Directory relative file names in the config (an OpenAPI document) resolve against. */
  readonly configDir?: string
  /** The config file's name, for the errors of checks made when compiling. */
  readonly configFile?: string
  /** Told about layer failures (which fail closed) and other problems worth a log line. */
  readonly onError?: (err: unknown, where: string, ctx?: RequestContext) => void
}

export interface Engine {
  readonly config: Config
  readonly layers: readonly Layer[]
  readonly store: Store
  /** What compiling found suspicious but allowed (a rule path no documented operation matches). */
  readonly warnings: readonly string[]
  /** Builds the canonical request view, or a refusal for an ambiguous request. */
  prepare(raw: RawRequest): PreparedRequest
  /** Runs every layer and combines their verdicts. Synchronous while the layers are. */
  inspect(ctx: RequestContext): MaybePromise<Decision>
  /** Tells the layers how the request ended (failed logins, flows, risk). Never throws. */
  observe(ctx: RequestContext, outcome: Outcome, decision: Decision): void
  close(): Promise<void>
}

const TOO_LARGE: Verdict = Object.freeze({
  action: 'block',
  rule: 'request.body-too-large',
  reason: 'body larger than the inspection cap',
  monitor: false,
  status: 413,
})
const UNREADABLE: Verdict = Object.freeze({
  action: 'block',
  rule: 'request.body-unreadable',
  reason: 'the body could not be read: malformed framing, or the client went away mid-body',
  monitor: false,
  status: 400,
})

/**
 * @example
 * const engine = createEngine(await loadConfig('bulwark.yaml', ConfigSpec))
 * const { ctx } = engine.prepare(raw)
 * const decision = await engine.inspect(ctx)
 */
export function createEngine(config: Config, opts: EngineOptions = {}): Engine {
  const clock = opts.clock ?? systemClock
  const onError = opts.onError ?? (() => {})
  const ownStore = opts.store === undefined
  const store = opts.store ?? createStore(config.store)
  const deps: LayerDeps = {
    clock,
    mode: config.mode,
    store,
    facets: identityFacets(config.identity, config.server.pathCase !== 'sensitive'),
    foldCase: config.server.pathCase !== 'sensitive',
    localMaxKeys: config.store.maxKeys,
    puzzles: config.challenge !== undefined,
    noFakes: config.behavior?.deceive.except ?? [],
    ...(opts.configDir !== undefined ? { configDir: opts.configDir } : {}),
  }
  const layers: Layer[] = []
  for (const type of Object.values(layerTypes)) {
    const spec = (config as Record<string, unknown>)[type.type]
    if (spec !== undefined) layers.push(type.create(spec as never, deps))
  }
  const observers = layers.filter((l) => l.observe !== undefined)
  const contract = layers.find((l) => l.name === 'contract') as ContractLayer | undefined
  const lint = lintConfig(config, contract?.documented, opts.configFile)
  if (lint.errors.length) {
    for (const l of layers) void l.close?.()
    if (ownStore) void store.close()
    throw new ConfigError('ERR_CONFIG_INVALID', withLines(lint.errors, opts.configFile))
  }

  // With `challenge:`, an enforced challenge asks for proof of work instead of a plain 401.
  const pow = config.challenge ? proofOfWork(config.challenge, store, clock) : undefined

  function decide(ctx: RequestContext, verdicts: Verdict[]): MaybePromise<Decision> {
    // A body over the cap cannot be inspected, so nothing any layer said about it stands.
    const body = bodyState(ctx)
    if (body?.tooLarge) return refuse(TOO_LARGE)
    if (body?.unreadable) return refuse(UNREADABLE)
    const d = combine(verdicts)
    if (d.action === 'deceive') {
      if (d.decisive?.body === undefined) return withFake(ctx, d)
      // A chaos success: shaped like the route's documented one where the contract knows it
      // (its own generic bodies are kept elsewhere), so a bot comparing cannot tell.
      if (d.decisive.data?.reshape === true) return reshaped(ctx, d)
    }
    return pow !== undefined && d.action === 'challenge' ? pow.settle(ctx, d) : d
  }

  /**
   * A `deceive` verdict without its own answer (limits, behaviour) answers with a fake success:
   * shaped like the route's documented one where the contract knows it, else the generic `ok`
   * fake — never the gateway's error body, which tells a bot it was caught.
   */
  function withFake(ctx: RequestContext, d: Decision): Decision {
    const v = d.decisive!
    // A trap fired before the contract ran: look the route up now.
    if (ctx.documented === undefined) contract?.describe(ctx)
    const f = fakeSuccess(ctx, clock.now())
    const decisive: Verdict = {
      ...v,
      status: v.status ?? f.status,
      headers: v.headers ? { ...f.headers, ...v.headers } : f.headers,
      body: f.body,
    }
    const verdicts = d.verdicts.map((x) => (x === v ? decisive : x))
    return { ...d, verdicts, decisive }
  }

  function reshaped(ctx: RequestContext, d: Decision): Decision {
    if (ctx.documented === undefined) contract?.describe(ctx)
    if (ctx.documented?.fake === undefined) return d
    const v = d.decisive!
    const f = fakeSuccess(ctx, clock.now())
    const decisive: Verdict = { ...v, status: f.status, headers: f.headers, body: f.body }
    const verdicts = d.verdicts.map((x) => (x === v ? decisive : x))
    return { ...d, verdicts, decisive }
  }

  function failed(err: unknown, ctx: RequestContext): Decision {
    onError(err, 'inspect', ctx)
    // Fail closed: a layer that cannot decide must not let the request through unchecked.
    return refuse({
      action: 'block',
      rule: 'engine.layer-error',
      reason: 'a layer failed',
      monitor: false,
      status: 500,
    })
  }

  return {
    config,
    layers,
    warnings: lint.warnings,
    prepare: contextFactory(config, clock),
    inspect(ctx) {
      if (layers.length === 0) return combine([])
      try {
        const v = runLayers(layers, ctx)
        if (v instanceof Promise)
          return v.then(
            (r) => decide(ctx, r),
            (err) => failed(err, ctx),
          )
        return decide(ctx, v)
      } catch (err) {
        return failed(err, ctx)
      }
    },
    observe(ctx, outcome, decision) {
      for (const l of observers) {
        try {
          const r = l.observe!(ctx, outcome, decision)
          if (r instanceof Promise) r.catch((err) => onError(err, `observe:${l.name}`, ctx))
        } catch (err) {
          onError(err, `observe:${l.name}`, ctx)
        }
      }
    },
    store,
    async close() {
      await Promise.all(layers.map((l) => l.close?.()))
      if (ownStore) await store.close()
    },
  }
}
