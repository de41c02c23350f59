/**
 * One simulated client: an address (sent as `X-Forwarded-For`), a browser header set, a cookie
 * jar and, once logged in, a bearer token. Scenarios call `send`, and see only what a real client
 * would see: the status, headers and body. What the observer knows goes to the scenario's tally.
 * Used by the scenarios through the world; calls undici, the target and the tally.
 * @see ../../docs/simulate.md#clients
 */
import { request, type Dispatcher } from 'undici'
import { readChallenge } from '../challenge/client.js'
import { solveInNode } from '../challenge/node.js'
import { CookieJar } from './cookie-jar.js'
import { SITE_ORIGIN, type Profile } from './profiles.js'
import type { Tally } from './tally.js'
import type { Target } from './target.js'

/** Thrown by `send` (and the world's `pause`) once the run is over; the runner catches it. */
export class Stopped extends Error {
  constructor() {
    super('the simulation run is over')
    this.name = 'Stopped'
  }
}

/** What a client's requests travel over; one per run. */
export interface Wire {
  readonly target: Target
  readonly dispatcher: Dispatcher
  /** False once the run's time is up: no new request starts. */
  running(): boolean
  /** Aborted when the grace period after the end is over: requests in flight are cut off. */
  readonly cutoff: AbortSignal
}

/** An answer as the client sees it; status 0 when none came (a network error). */
export interface SimResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json(): unknown
  /**
   * The observer's knowledge, for what a scenario reports it achieved (never for what a bot
   * does next): false when the upstream never saw the request — a 200 that was a gateway's
   * fake; undefined when the target cannot tell.
   */
  readonly reached: boolean | undefined
}

/** Options of one request. */
export interface SendOptions {
  /** Sent as a JSON body. */
  readonly json?: unknown
  /** Extra headers, after the browser's own. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * @example
 * const client = world.client('198.51.100.7', world.humanProfile())
 * const res = await client.send('GET', '/api/products/1')
 */
export class SimClient {
  /** The address the gateway is told; a client may move (a phone) or rotate (a bot). */
  ip: string
  profile: Profile
  /** Bearer token sent on every request once set. */
  token: string | undefined
  /** False for bots that never send cookies back. */
  keepCookies = true
  /**
   * True for people: their browser runs the site's script, which answers a proof-of-work
   * challenge and sends the request again (the time it takes is added latency). Bots do not.
   */
  solvesChallenges = false
  readonly jar = new CookieJar()
  readonly #wire: Wire
  readonly #tally: Tally

  constructor(wire: Wire, tally: Tally, ip: string, profile: Profile) {
    this.#wire = wire
    this.#tally = tally
    this.ip = ip
    this.profile = profile
    tally.addClient()
  }

  /**
   * Sends one request through the gateway.
   * @throws {Stopped} when the run is over (before sending, or cut off in flight).
   * @example const res = await client.send('POST', '/api/login', { json: { username, password } })
   */
  async send(method: string, path: string, opts: SendOptions = {}): Promise<SimResponse> {
    const wire = this.#wire
    if (!wire.running()) throw new Stopped()
    const { ip, profile } = this
    const n = this.#tally.issue()
    const start = performance.now()
    try {
      let res = await this.#exchange(method, path, opts)
      const puzzle =
        this.solvesChallenges && res.statusCode >= 400 ? readChallenge(parse(res.text)) : undefined
      // The first answer and the puzzle's solving are latency the gateway added on purpose.
      let addedMs = 0
      if (puzzle) {
        const answer = await solveInNode(puzzle.token, puzzle.bits, { signal: wire.cutoff })
        addedMs = performance.now() - start
        res = await this.#exchange(method, path, opts, [puzzle.header, answer])
      }
      const ms = performance.now() - start
      const id = res.headers[wire.target.requestIdHeader]
      const seen = wire.target.observe(typeof id === 'string' ? id : undefined)
      const added = addedMs ? { ...seen, delayMs: (seen.delayMs ?? 0) + Math.round(addedMs) } : seen
      this.#tally.record(n, ip, profile.id, res.statusCode, ms, added)
      const text = res.text
      return {
        status: res.statusCode,
        headers: res.headers,
        body: text,
        json: () => parse(text),
        reached: seen.reached,
      }
    } catch (err) {
      this.#tally.record(n, ip, profile.id, 0, performance.now() - start, { reached: false })
      if (wire.cutoff.aborted) throw new Stopped()
      return { status: 0, headers: {}, body: String(err), json: () => undefined, reached: false }
    }
  }

  /** One request and its answer; the cookies it sets go into the jar. */
  async #exchange(
    method: string,
    path: string,
    opts: SendOptions,
    extra?: readonly [string, string],
  ): Promise<{ statusCode: number; headers: SimResponse['headers']; text: string }> {
    const wire = this.#wire
    const headers: string[] = []
    for (const [name, value] of this.profile.headers) headers.push(name, value)
    // Browsers send Origin on every request that is not a GET or HEAD.
    if (method !== 'GET' && method !== 'HEAD') headers.push('origin', SITE_ORIGIN)
    if (this.token) headers.push('authorization', `Bearer ${this.token}`)
    const cookie = this.keepCookies ? this.jar.header() : undefined
    if (cookie) headers.push('cookie', cookie)
    let body: string | undefined
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json)
      headers.push('content-type', 'application/json')
    }
    for (const [name, value] of Object.entries(opts.headers ?? {})) headers.push(name, value)
    if (extra) headers.push(extra[0], extra[1])
    headers.push('x-forwarded-for', this.ip)
    const res = await request(wire.target.url + path, {
      dispatcher: wire.dispatcher,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: wire.cutoff,
    })
    const text = await res.body.text()
    const setCookie = res.headers['set-cookie']
    if (this.keepCookies && setCookie)
      this.jar.store(Array.isArray(setCookie) ? setCookie : [setCookie])
    return { statusCode: res.statusCode, headers: res.headers, text }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
