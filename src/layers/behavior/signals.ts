/**
 * Per-client signals computed in this process from what the client does: timing regularity,
 * error and 404 ratios, id sweeps, velocity against a route's norm, and header anomalies.
 * Cheap per request (fixed-size rings, no allocation on the common path) and bounded (the
 * least recently seen clients are forgotten first).
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { BehaviorSpec } from './spec.js'
import { OrderedMap } from '../../store/ordered-map.js'

export type SignalName = keyof BehaviorSpec['signals']

/** What this process knows about one client (keyed by its strongest facet). */
export class Tracker {
  lastArrival = 0
  /** The last gaps between arrivals (a ring), made on the second arrival. */
  gaps: number[] | undefined = undefined
  gapCount = 0
  /** The last answers' statuses (a ring), made on the first answer. */
  statuses: number[] | undefined = undefined
  statusCount = 0
  readonly #gapSamples: number
  readonly #statusSamples: number
  /**
   * Per route template: last numeric id, its stride, and how many equal strides in a row.
   * Made on first use, like `rates` and `fired`: under IP rotation most clients are seen once,
   * and a tracker is then the allocation that matters.
   */
  sweeps: Map<string, { last: number; stride: number; run: number }> | undefined = undefined
  /** Per velocity rule: window start and count. */
  rates: Map<number, { start: number; count: number }> | undefined = undefined
  /** When each accumulating signal last fired, for the cooldown. */
  fired: Map<SignalName, number> | undefined = undefined

  /** Plain arrays made on first use: typed arrays cost an ArrayBuffer each, per new client. */
  constructor(gapSamples: number, statusSamples: number) {
    this.#gapSamples = gapSamples
    this.#statusSamples = statusSamples
  }

  /**
   * Records an arrival: `burst` for a request that came with others at once (a page loading
   * twenty thumbnails: it says nothing about timing or order), `regular` when the last gaps
   * are as regular as a script's, else `normal`.
   */
  arrival(now: number, spec: BehaviorSpec['regularity']): 'burst' | 'regular' | 'normal' {
    const gap = now - this.lastArrival
    const first = this.lastArrival === 0
    if (!first && gap < spec.minInterval) return 'burst'
    this.lastArrival = now
    if (first || gap > spec.maxInterval) {
      // A long pause breaks the series: people pause, scripts that pause are not metronomes.
      this.gapCount = 0
      return 'normal'
    }
    const n = this.#gapSamples
    const gaps = (this.gaps ??= [])
    gaps[this.gapCount++ % n] = gap
    if (this.gapCount < n) return 'normal'
    let sum = 0
    for (let i = 0; i < n; i++) sum += gaps[i]!
    const mean = sum / n
    let sq = 0
    for (let i = 0; i < n; i++) sq += (gaps[i]! - mean) * (gaps[i]! - mean)
    const cv = Math.sqrt(sq / n) / mean
    return cv < spec.maxCv ? 'regular' : 'normal'
  }

  /** Records an answer's status; the signal it adds, if any. */
  outcome(status: number, spec: BehaviorSpec['errors']): 'errors' | undefined {
    const n = this.#statusSamples
    const statuses = (this.statuses ??= [])
    statuses[this.statusCount++ % n] = status
    if (this.statusCount < n) return undefined
    let notFound = 0
    let errors = 0
    for (let i = 0; i < n; i++) {
      const s = statuses[i]!
      if (s === 404 || s === 405) notFound++
      if (s >= 400) errors++
    }
    return notFound / n >= spec.notFoundRatio || errors / n >= spec.errorRatio
      ? 'errors'
      : undefined
  }

  /** Records a numeric id on a templated route; true when ids advance by a constant small step. */
  id(route: string, value: number, spec: BehaviorSpec['sweep']): boolean {
    const sweeps = (this.sweeps ??= new Map())
    const s = sweeps.get(route)
    if (!s) {
      if (sweeps.size >= 16) sweeps.delete(sweeps.keys().next().value!)
      sweeps.set(route, { last: value, stride: 0, run: 0 })
      return false
    }
    const stride = value - s.last
    s.last = value
    if (stride !== 0 && stride === s.stride && Math.abs(stride) <= spec.maxStride) s.run++
    else {
      s.stride = stride
      s.run = stride !== 0 && Math.abs(stride) <= spec.maxStride ? 1 : 0
    }
    return s.run >= spec.run
  }

  /** The step of the sweep on `route` while it runs (two equal steps or more), else 0. */
  stride(route: string): number {
    const s = this.sweeps?.get(route)
    return s && s.run >= 2 ? s.stride : 0
  }

  /** Counts a request against a velocity rule; true when over its norm. */
  rate(rule: number, limit: number, windowMs: number, now: number): boolean {
    const rates = (this.rates ??= new Map())
    let r = rates.get(rule)
    if (!r || now - r.start >= windowMs) rates.set(rule, (r = { start: now, count: 0 }))
    return ++r.count > limit
  }

  /** True when `signal` may fire now (and records that it did). */
  cool(signal: SignalName, now: number, cooldownMs: number): boolean {
    const fired = (this.fired ??= new Map())
    const last = fired.get(signal)
    if (last !== undefined && now - last < cooldownMs) return false
    fired.set(signal, now)
    return true
  }
}

/** A bounded map of trackers: the least recently seen client is forgotten first. */
export class Trackers {
  readonly #map = new OrderedMap<string, Tracker>()
  readonly #max: number
  readonly #spec: BehaviorSpec

  constructor(spec: BehaviorSpec) {
    this.#max = spec.maxTracked
    this.#spec = spec
  }

  get(key: string): Tracker {
    let t = this.#map.get(key)
    if (!t) {
      t = new Tracker(this.#spec.regularity.samples, this.#spec.errors.samples)
      if (this.#map.size >= this.#max) this.#map.deleteOldest()
    }
    this.#map.touch(key, t)
    return t
  }

  delete(key: string): void {
    this.#map.delete(key)
  }

  get size(): number {
    return this.#map.size
  }
}

const TOOL_AGENT =
  /^(curl|wget|python-requests|python-urllib|aiohttp|httpx|go-http-client|java\/|apache-httpclient|libwww-perl|scrapy|httpie|axios|node-fetch|undici|got\b|postmanruntime|insomnia|ruby|php|powershell|zgrab|masscan|nmap|sqlmap|nikto|nuclei)/i
const BROWSER = /^Mozilla\/5\.0 .*(Chrome|Firefox|Safari|Edg)\//

/**
 * Per-request header signals (not accumulated): what a client says about itself that does not
 * hold together. Returns the names present.
 */
export function headerSignals(h: IncomingHttpHeaders): readonly ('headers' | 'toolAgent')[] {
  const ua = h['user-agent']
  if (ua === undefined || ua === '') return HEADERS
  const kind = agentKind(ua)
  if (kind === 'tool') return TOOL
  if (kind !== 'other') {
    // Every current browser sends Accept-Language, and Sec-Fetch-* (to secure origins) with
    // every request; a script that copied only the User-Agent does not.
    if (h['accept-language'] === undefined) return HEADERS
    if (
      kind === 'chrome80' &&
      h['sec-fetch-mode'] === undefined &&
      h['sec-fetch-site'] === undefined
    )
      return HEADERS
  }
  return NO_STATES
}

/**
 * A full browser's header set: a browser's User-Agent with the headers every current browser
 * sends ({@link headerSignals} finds nothing amiss). Many people share each such build, so a
 * risk run up on it elsewhere is not theirs (see the behaviour layer's per-network risk).
 */
export function browserBuild(
  h: IncomingHttpHeaders,
  states: readonly string[] = headerSignals(h),
): boolean {
  const ua = h['user-agent']
  if (ua === undefined || ua === '' || states.length > 0) return false
  const kind = agentKind(ua)
  return kind === 'browser' || kind === 'chrome80'
}

const HEADERS: readonly 'headers'[] = Object.freeze(['headers'])
const TOOL: readonly 'toolAgent'[] = Object.freeze(['toolAgent'])
const NO_STATES: readonly never[] = Object.freeze([])

type AgentKind = 'tool' | 'browser' | 'chrome80' | 'other'
/** User-Agent strings repeat request after request: each is classified once. */
const AGENTS = new Map<string, AgentKind>()

function agentKind(ua: string): AgentKind {
  let kind = AGENTS.get(ua)
  if (kind !== undefined) return kind
  if (TOOL_AGENT.test(ua)) kind = 'tool'
  else if (!BROWSER.test(ua)) kind = 'other'
  else {
    const chrome = /Chrome\/(\d+)/.exec(ua)
    kind = chrome && Number(chrome[1]) >= 80 ? 'chrome80' : 'browser'
  }
  // At most 4,096 agents of at most 512 characters are remembered (2 MB at worst).
  if (ua.length > 512) return kind
  if (AGENTS.size >= 4_096) AGENTS.clear()
  AGENTS.set(ua, kind)
  return kind
}
