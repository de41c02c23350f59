/**
 * Bulwark in-process: the engine the proxy runs, with the same config, layers and store,
 * behind a framework-neutral API. `inspect()` a request, carry out the {@link Inspection}, then
 * `observe()` the status the client got. The framework adapters (src/adapters) are thin
 * wrappers over exactly these calls; nothing here knows about a framework or the proxy.
 *
 * Owns: one engine at a time (swapped by `reload`), its store, and the request lifecycle
 * prepare → identify → inspect → observe, including the `bulwark:decision` telemetry message.
 * Calls engine/, config/, store/, telemetry/. Called by the adapters and by apps.
 * @see ../../docs/embedded.md
 */
import type { Config } from '../config/schema.js'
import type { RawRequest } from '../engine/context.js'
import { refuse } from '../engine/decision.js'
import { createEngine, type Engine } from '../engine/engine.js'
import {
  systemClock,
  type Clock,
  type Decision,
  type RequestContext,
  type Verdict,
} from '../engine/types.js'
import { canonicalAccount, secretDigest } from '../identity/facets.js'
import { createStore } from '../store/create.js'
import type { Store } from '../store/store.js'
import { configWarningNotices, decisionChannel, layerErrorNotice } from '../telemetry/channels.js'
import { resolveConfig, type ConfigSource } from './config-source.js'
import { toInspection, type Answer, type Inspection } from './inspection.js'
import { createTarpit, type TarpitOptions, type TarpitStats } from '../proxy/tarpit.js'
import { TarpitSpec } from '../layers/deception/spec.js'
import { errorBody } from '../engine/effect.js'
import { toRawRequest, type BulwarkRequest } from './request.js'

/** Options of {@link createBulwark}, besides where the config comes from. */
export interface BulwarkExtras {
  /** Time source for the layers (tests and replay pass their own). */
  readonly clock?: Clock
  /** A store to share with other engines (or a proxy); by default one is made from `config.store`. */
  readonly store?: Store
  /**
   * Told about layer failures (which fail closed with 500) and observe errors. Default: a
   * `bulwark:notice` message, as the proxy sends.
   */
  readonly onError?: (err: unknown, where: string, ctx?: RequestContext) => void
}

/** Options of {@link createBulwark}: `{ config }` or `{ configFile }`, plus {@link BulwarkExtras}. */
export type BulwarkOptions = ConfigSource & BulwarkExtras

/**
 * Who the app says the client is, for this request. Limits keyed on `account` (or `session`,
 * `apiKey`) count on it; an account is canonicalised (NFKC, trimmed, lower-cased) exactly like
 * one read from a body or header.
 */
export interface KnownIdentity {
  readonly account?: string | undefined
  readonly session?: string | undefined
  readonly apiKey?: string | undefined
}

/** A request whose canonical view is built but whose layers have not run yet. */
export interface Prepared {
  readonly id: string
  /** The canonical request: path, route, identity (filled in further by `identify`). */
  readonly context: RequestContext
  /** Set when the request is refused before any rule runs (ambiguous path, 431…). */
  readonly refusal: Verdict | undefined
}

/**
 * The in-process engine: the lifecycle of one request is `inspect` (or `prepare` → `identify` →
 * `inspect`), carry out the inspection, then `observe`.
 * @see ../../docs/embedded.md#the-api
 */
export interface Bulwark {
  /** The config in force. */
  readonly config: Config
  /** The engine in force (for tools; apps need not touch it). */
  readonly engine: Engine
  /** Builds the canonical view of a request without running any layer. Synchronous. */
  prepare(request: BulwarkRequest | RawRequest): Prepared
  /**
   * Tells the engine who the client is, for this request, before its layers run.
   * @throws {TypeError} once the request has been inspected (its limits have counted already).
   */
  identify(request: Prepared, who: KnownIdentity): void
  /**
   * Runs every layer once and says what to do. Accepts a raw request, or one already
   * {@link Bulwark.prepare | prepared} (and identified). Never rejects for a hostile request:
   * that is an `answer` (400, 403, 429…); a failing layer fails closed (500).
   * @throws {TypeError} when the same prepared request is inspected twice.
   */
  inspect(request: BulwarkRequest | RawRequest | Prepared, who?: KnownIdentity): Promise<Inspection>
  /**
   * After the answer: tells the layers the status the client got (failed logins are counted
   * here) and publishes the decision on `bulwark:decision`. Pass 0 when the client left
   * before any answer. Only the first call for an inspection counts.
   */
  observe(inspection: Inspection, status: number): void
  /**
   * Builds a new engine from `source` (default: the file it was created from) and swaps it in;
   * requests in flight finish on the old one. Throws, keeping the old one, on a bad config.
   */
  reload(source?: ConfigSource): Promise<void>
  /**
   * Holds a delayed answer (a deception fake, chaos) under the tarpit's caps
   * (`deception.tarpit`, as in the proxy): calls `fire` after `answer.delayMs` and returns the
   * release to call when the client leaves first. Returns undefined when a cap is reached: then
   * answer at once with {@link Bulwark.overflow} (or close the connection, when the config's
   * `overflow` is `close` and the adapter can). Adapters call this; apps need not.
   */
  hold(answer: Answer, fire: () => void): (() => void) | undefined
  /** The cheapest answer for a held answer that found the tarpit full: a plain 429. */
  overflow(answer: Answer): Answer
  /** Delayed answers held now, and the caps. */
  readonly tarpit: TarpitStats
  /** Closes the engine and the store it made. */
  close(): Promise<void>
}

/** Per-request bookkeeping, kept off the public objects. */
interface State {
  readonly engine: Engine
  inspected: boolean
  observed: boolean
}
const STATE = Symbol('bulwark.state')
type WithState<T> = T & { [STATE]: State }

/** How long a replaced engine stays open for the requests still using it. */
const RETIRE_MS = 10_000

/**
 * Creates the in-process engine.
 * @throws {ConfigError} for an unreadable or invalid config (file:line and key path, as `bulwark check`).
 * @example
 * const bulwark = await createBulwark({ configFile: 'bulwark.yaml' })
 * const r = await bulwark.inspect({ method: 'GET', url: '/api/products/1', headers, remoteAddress })
 * if (isAnswered(r)) send(r.status, r.headers, r.body)
 * bulwark.observe(r, status)
 * @see ../../docs/embedded.md
 */
export async function createBulwark(opts: BulwarkOptions): Promise<Bulwark> {
  const clock = opts.clock ?? systemClock
  const onError = opts.onError ?? layerErrorNotice
  const source: ConfigSource | undefined = opts.configFile
    ? { configFile: opts.configFile }
    : undefined
  let config = await resolveConfig(opts)
  let store = opts.store ?? createStore(config.store)
  let engine = createEngine(config, { clock, store, onError })
  configWarningNotices(engine.warnings)

  function stateOf<T extends object>(o: T, what: string): State {
    const st = (o as WithState<T>)[STATE]
    if (!st)
      throw new TypeError(`${what}: expected a value made by this Bulwark's prepare() or inspect()`)
    return st
  }

  function prepare(request: BulwarkRequest | RawRequest): Prepared {
    const { ctx, refusal } = engine.prepare(toRawRequest(request))
    const p: WithState<Prepared> = {
      id: ctx.id,
      context: ctx,
      refusal,
      [STATE]: { engine, inspected: false, observed: false },
    }
    return p
  }

  function identify(request: Prepared, who: KnownIdentity): void {
    if (stateOf(request, 'identify').inspected)
      throw new TypeError(
        'identify(): the request was inspected already; identify it before inspect()',
      )
    const id = request.context.identity
    if (who.account !== undefined) {
      const account = canonicalAccount(who.account)
      if (account !== undefined) id.account = account
    }
    // Credentials are known by their digest only, as in the proxy.
    if (who.session) id.session = secretDigest(who.session)
    if (who.apiKey) id.apiKey = secretDigest(who.apiKey)
  }

  function finish(p: WithState<Prepared>, decision: Decision): Inspection {
    const r = toInspection(p.context, decision) as WithState<Inspection>
    r[STATE] = p[STATE]
    return r
  }

  function failed(p: WithState<Prepared>, err: unknown): Inspection {
    onError(err, 'inspect', p.context)
    const v: Verdict = {
      action: 'block',
      rule: 'engine.error',
      reason: String(err),
      monitor: false,
      status: 500,
    }
    return finish(p, refuse(v))
  }

  // One tarpit for the Bulwark's life: answers held under an old config count against the caps.
  const tarpit = createTarpit(tarpitOptions(config))

  return {
    get config() {
      return config
    },
    get engine() {
      return engine
    },
    tarpit,
    hold(answer, fire) {
      return tarpit.hold(answer.delayMs, Buffer.byteLength(answer.body), fire)
    },
    overflow(answer) {
      const cheap: WithState<Answer> = {
        ...answer,
        status: 429,
        delayMs: 0,
        headers: { 'content-type': 'application/json', 'x-request-id': answer.id },
        body: errorBody(429, answer.id),
        // The same request: observing either answer counts once.
        [STATE]: stateOf(answer, 'overflow()'),
      }
      return cheap
    },
    prepare,
    identify,
    inspect(request, who) {
      const p = (
        STATE in request ? request : prepare(request as BulwarkRequest)
      ) as WithState<Prepared>
      const st = p[STATE]
      if (st.inspected)
        return Promise.reject(new TypeError('inspect(): this request was inspected already'))
      if (who) identify(p, who)
      st.inspected = true
      if (p.refusal) return Promise.resolve(finish(p, refuse(p.refusal)))
      try {
        const d = st.engine.inspect(p.context)
        if (d instanceof Promise)
          return d.then(
            (x) => finish(p, x),
            (err) => failed(p, err),
          )
        return Promise.resolve(finish(p, d))
      } catch (err) {
        return Promise.resolve(failed(p, err))
      }
    },
    observe(inspection, status) {
      const st = stateOf(inspection, 'observe')
      if (st.observed) return
      st.observed = true
      const ctx = inspection.context
      const outcome = {
        status,
        ms: clock.now() - ctx.receivedAt,
        byGateway: inspection.kind === 'answer',
      }
      st.engine.observe(ctx, outcome, inspection.decision)
      if (decisionChannel.hasSubscribers)
        decisionChannel.publish({ ctx, decision: inspection.decision, outcome })
    },
    async reload(next = source) {
      if (!next)
        throw new TypeError('reload(): pass a config source; this Bulwark was not made from a file')
      const nextConfig = await resolveConfig(next)
      const sameStore =
        opts.store !== undefined ||
        JSON.stringify(nextConfig.store) === JSON.stringify(config.store)
      const nextStore = sameStore ? store : createStore(nextConfig.store)
      let nextEngine: Engine
      try {
        nextEngine = createEngine(nextConfig, { clock, store: nextStore, onError })
      } catch (err) {
        // Refused while compiling: the old config stays, and the new store goes.
        if (!sameStore) void nextStore.close()
        throw err
      }
      configWarningNotices(nextEngine.warnings)
      const old = { engine, store }
      config = nextConfig
      store = nextStore
      engine = nextEngine
      tarpit.configure(tarpitOptions(nextConfig))
      setTimeout(() => {
        void old.engine.close()
        if (old.store !== nextStore) void old.store.close()
      }, RETIRE_MS).unref()
    },
    async close() {
      await engine.close()
      if (opts.store === undefined) await store.close()
    },
  }
}

/** The tarpit's caps: `deception.tarpit`, or its defaults when there is no deception block. */
function tarpitOptions(config: Config): TarpitOptions {
  return config.deception?.tarpit ?? DEFAULT_TARPIT
}
const DEFAULT_TARPIT: TarpitOptions = TarpitSpec.parse({})
