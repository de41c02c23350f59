/**
 * The types every part of Bulwark shares: what a layer sees (RequestContext), what it says
 * (Verdict), what the engine decides (Decision) and how that decision is carried out (Effect).
 * @see ../../README.md#concepts
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { IdentityFacets } from '../identity/facets.js'
import type { Store } from '../store/store.js'

export type MaybePromise<T> = T | Promise<T>

/** Mildest to most severe; `combine()` picks the most severe enforced verdict. */
export const ACTIONS = [
  'allow',
  'log',
  'delay',
  'throttle',
  'challenge',
  'deceive',
  'block',
] as const
export type Action = (typeof ACTIONS)[number]

/** Severity rank of each action: a higher number wins when verdicts combine. */
export const SEVERITY: Readonly<Record<Action, number>> = {
  allow: 0,
  log: 1,
  delay: 2,
  throttle: 3,
  challenge: 4,
  deceive: 5,
  block: 6,
}

export type Mode = 'enforce' | 'monitor'
export type HeaderMap = Readonly<Record<string, string>>

export interface Verdict {
  readonly action: Action
  /** Config id of the rule, such as `limits.login-per-account` or `request.ambiguous-path`. */
  readonly rule: string
  /** One sentence an operator can read: `account "bob": 6 attempts > 5 per 60s`. */
  readonly reason: string
  /** Monitor-mode verdicts are logged as "would have" and never enforced. */
  readonly monitor: boolean
  /** Status of the gateway's answer. On an `allow` verdict it means "answer at the edge" (a CORS preflight). */
  readonly status?: number
  /**
   * Headers for the answer. On a forwarded request they are added to the upstream's response
   * and replace the upstream's headers of the same names; a value of '' removes that header.
   */
  readonly headers?: HeaderMap
  readonly delayMs?: number
  /** Body to answer with, when the rule shapes its own answer (deception fakes, problem+json). */
  readonly body?: string
  /** Extra numbers for events and the dashboard (counts, limits, keys). */
  readonly data?: Readonly<Record<string, unknown>>
  /**
   * Carries headers only, says nothing about the client (CORS stripping the backend's CORS
   * headers from a same-origin answer): left out of events' reasons.
   */
  readonly quiet?: boolean
}

export interface Decision {
  /** Most severe enforced verdict's action, else `allow`. */
  readonly action: Action
  /** Most severe monitor verdict's action, when it is more severe than `action`. */
  readonly wouldHave?: Action
  /** Every verdict, in layer order. */
  readonly verdicts: readonly Verdict[]
  /** The verdict that decided `action` (undefined for allow). */
  readonly decisive?: Verdict
}

export type Effect =
  | { readonly kind: 'forward'; readonly delayMs: number; readonly headers: HeaderMap }
  | {
      readonly kind: 'respond'
      readonly delayMs: number
      readonly status: number
      readonly headers: HeaderMap
      readonly body: string
    }

/** What the upstream (or the gateway itself) answered. */
export interface Outcome {
  readonly status: number
  /** Milliseconds from the request's arrival to the response head. */
  readonly ms: number
  /** True when the gateway answered without the upstream (a block, a fake, a 502). */
  readonly byGateway: boolean
  /**
   * True when the upstream had the request but its answer never came: it failed after being
   * sent it (the gateway's 502/504). A client that left before the answer is status 0 with
   * `byGateway` false. Either way the backend may have acted on the request.
   */
  readonly unanswered?: boolean
}

/**
 * A fake success made from an API's own description of a route's success (status, content type,
 * a body with the documented fields and fresh values): what `deceive` answers with there.
 */
export interface ShapedFake {
  readonly status: number
  readonly contentType: string
  /**
   * Whether a field echoes the request body's: `params` must then also carry its top-level
   * values, each under `body:<field>`.
   */
  readonly echoesBody?: boolean
  /** One body; `params` are the documented path parameters, echoed where a field carries one. */
  body(random: () => number, now: number, params: Readonly<Record<string, string>>): string
}

/** Which hop of the forwarding chain gave the client IP. */
export type IpSource = 'socket' | 'x-forwarded-for' | 'forwarded'

/**
 * Who is asking. `ip`, `ipPrefix` and `fingerprint` are filled for every request; the other
 * facets are filled by the layers that know them (a JWT's `sub`, a login body's account field).
 */
export interface Identity {
  ip: string
  /** The IP's group: the address itself for IPv4, the configured prefix (/64) for IPv6. */
  ipPrefix: string
  ipSource: IpSource
  /** Number of trusted hops walked past to find `ip` (0 for the socket). */
  ipHop: number
  account?: string
  /**
   * The account exactly as the request gave it, before canonicalisation (`account` folds case,
   * width and spacing, so `ａｌｉｃｅ` and `alice` are one account to limits; a backend may
   * hold both). What `device: unknown` remembers a device under.
   */
  accountAsSent?: string
  /** `account` came from a token the auth layer verified (else it is what the request claims). */
  accountVerified?: boolean
  session?: string
  apiKey?: string
  fingerprint?: string
  /** The id of a valid Bulwark device cookie (`identity.device`); undefined without one. */
  device?: string
  /**
   * The device has been known for `identity.device.trustAfter` (since its first cookie): the
   * client's own identity for risk. False without a device, or with a younger one.
   */
  deviceTrusted?: boolean
}

export interface RouteInfo {
  /** The template that matched, such as `/api/products/:id`, or `*` for no route. */
  readonly template: string
  readonly params: Readonly<Record<string, string>>
  /** Name of the upstream the request goes to; undefined when no route sends it anywhere. */
  readonly upstream: string | undefined
}

/** The request body, read once (capped) and shared by every layer and the upstream. */
export interface RequestBody {
  readonly bytes: Buffer
  /** The media type without parameters, lower case: `application/json`. */
  readonly contentType: string
  /** The Content-Type header as sent (with its parameters, e.g. a multipart boundary). */
  readonly rawContentType?: string
  /** Content-Encoding as sent, when not `identity` (`gzip`): such a body cannot be inspected. */
  readonly encoding?: string
}

/** The one canonical view of a request that every layer, and the upstream, sees. */
export interface RequestContext {
  readonly id: string
  readonly method: string
  /** Canonical path: decoded unreserved characters, no dot segments, no duplicate slashes. */
  readonly path: string
  /** The path as route matchers see it: case-folded per policy, without a trailing slash. */
  readonly pathKey: string
  /** The query string without `?` (empty when none). */
  readonly query: string
  readonly route: RouteInfo
  /**
   * The OpenAPI operation's path template and parameters (`/api/products/:id`, `{ id: '7' }`),
   * set by the contract layer when the document describes the request. Lets later layers see
   * ids under a coarse gateway route (`/api/*`); `route` itself is left as configured, since
   * limits keyed on `route` count by it.
   */
  documented?: {
    readonly template: string
    readonly params: Readonly<Record<string, string>>
    /** A fake success shaped like the operation's documented one (for `deceive` answers). */
    readonly fake: ShapedFake | undefined
  }
  /** Header names in lower case, as node:http gives them. */
  readonly headers: IncomingHttpHeaders
  /** Names and values in arrival order: name, value, name, value… */
  readonly rawHeaders: readonly string[]
  readonly identity: Identity
  /**
   * The connection the request came on, when the listener has one (its socket): what is read
   * from a client's headers may be remembered for the next request on it (see
   * `RawRequest.connection`). Never a proof of who the client is: a trusted proxy's
   * connections carry many clients.
   */
  readonly connection?: object
  /** clock.now() at arrival. */
  readonly receivedAt: number
  /**
   * The body, read on first call up to the configured cap. Resolves undefined for a request
   * without a body. A body over the cap makes the request a 413 before any layer sees it.
   */
  body(): MaybePromise<RequestBody | undefined>
  /** Scratch space for layers that share per-request facts (parsed JSON, verified claims). */
  readonly locals: Map<string, unknown>
  /** A value stored in `locals`, read without making the Map when nothing was stored. */
  local(key: string): unknown
  /** Forwarding headers came from a client that is not a trusted proxy and were ignored. */
  readonly forwardingIgnored: boolean
  /**
   * A `Set-Cookie` value every answer to this request must carry: a new device cookie for a
   * client without a valid one, or a refreshed one (`identity.device`). Added to the upstream's
   * own cookies, never replacing them.
   */
  readonly deviceCookie: string | undefined
  /**
   * The id of the device cookie this answer gives a client that came without one: a sign-in
   * it makes is its device's first (`device: unknown` remembers the device from then on).
   */
  readonly issuedDevice?: string | undefined
  /**
   * Headers layers add to the upstream request (verified claims such as `x-user-id`). Any
   * header of the same name the client sent is dropped; a value of '' only drops it.
   */
  upstreamHeaders: Record<string, string> | undefined
}

export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: Date.now }

/** A compiled layer. `check` runs for every request; keep it synchronous where it can be. */
export interface Layer {
  readonly name: string
  check(ctx: RequestContext): MaybePromise<Verdict | readonly Verdict[] | undefined>
  /** Called after the answer, for outcome counting (failed logins), flows and risk. */
  observe?(ctx: RequestContext, outcome: Outcome, decision: Decision): MaybePromise<void>
  /**
   * Forgets what the layer holds against a client (the admin's "unblock"): counts and memos
   * kept under keys built from these facet values. Resolves to how many keys it reset.
   */
  forget?(facets: FacetValues): MaybePromise<number>
  close?(): Promise<void>
}

/** Identity facet values naming one client, for {@link Layer.forget}: `{ ip: ['1.2.3.4'] }`. */
export type FacetValues = Readonly<
  Partial<
    Record<
      'ip' | 'ipPrefix' | 'account' | 'session' | 'apiKey' | 'fingerprint' | 'device',
      readonly string[]
    >
  >
>

export interface LayerDeps {
  readonly clock: Clock
  /** The config-wide mode; a rule's own `mode` overrides it. */
  readonly mode: Mode
  /** The shared state store (memory or Redis). */
  readonly store: Store
  /** Identity facet getters compiled from the `identity:` block. */
  readonly facets: IdentityFacets
  /** Directory of the config file, for files it names (an OpenAPI document); default: cwd. */
  readonly configDir?: string
  /** Size of a layer's local fallback store (rules with `onStoreError: local`). */
  readonly localMaxKeys?: number
  /**
   * Whether rule paths match regardless of case: false under `server.pathCase: sensitive`
   * (the request's `pathKey` keeps its case there), true otherwise (the default).
   */
  readonly foldCase?: boolean
  /**
   * Whether a `challenge` answers with a proof-of-work puzzle (`challenge:` is configured): a
   * request answered with one was not served, and its solved retry is the one to count.
   */
  readonly puzzles?: boolean
  /**
   * Route patterns where no layer answers with a fake success (`behavior.deceive.except`: sign-in
   * and sign-up): a person misjudged there gets a refusal to retry, never a fake session.
   */
  readonly noFakes?: readonly string[]
}
