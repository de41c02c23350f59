/**
 * The gateway the simulator sends to, and what an observer outside the clients can learn about
 * each answer. An external URL tells nothing beyond the answer; the in-process demo
 * (`demo-target.ts`) also knows what the upstream received and what the gateway decided.
 * Used by `simulate.ts` and `sim-client.ts`.
 */

/** What the observer (never the client) knows about one answered request. */
export interface Observation {
  /** The upstream received the request; undefined when the target cannot tell. */
  readonly reached: boolean | undefined
  /** The deciding rule when the gateway did not simply allow (`limits.product-sweep`). */
  readonly rule?: string
  /** Delay the gateway added on purpose before answering or forwarding. */
  readonly delayMs?: number
}

/** A gateway to send to, and what can be learnt about its answers. */
export interface Target {
  readonly mode: 'demo' | 'external'
  /** Base URL, no trailing slash. */
  readonly url: string
  /** The config file the in-process gateway runs (demo mode); null otherwise. */
  readonly config: string | null
  /** Response header carrying the gateway's request id. */
  readonly requestIdHeader: string
  /** Looks up one answered request by the request id the gateway sent back. */
  observe(requestId: string | undefined): Observation
  close(): Promise<void>
}

/**
 * A gateway already running at `url`. It must trust the simulator's address as a proxy
 * (`server.trustedProxies`), or every simulated client is one client to it.
 * @example const target = externalTarget('http://127.0.0.1:8080')
 */
export function externalTarget(url: string): Target {
  return {
    mode: 'external',
    url: url.replace(/\/+$/, ''),
    config: null,
    requestIdHeader: 'x-request-id',
    observe: () => ({ reached: undefined }),
    close: async () => {},
  }
}
