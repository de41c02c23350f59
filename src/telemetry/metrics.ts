/**
 * The prom-client subscriber: Prometheus metrics fed by the `bulwark:decision` and
 * `bulwark:notice` channels, never called from the data path. Labels are bounded by the config
 * (route templates, rule ids, upstream names, actions), never raw paths or client addresses.
 * Gauges read their value when Prometheus scrapes.
 *
 * Owns one prom-client Registry. Called by the admin listener (src/admin/admin.ts).
 * @see ../../docs/dashboard.md#metrics
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { ACTIONS, SEVERITY } from '../engine/types.js'
import {
  decisionChannel,
  noticeChannel,
  type DecisionMessage,
  type NoticeMessage,
} from './channels.js'

export interface MetricsOptions {
  /** Requests being answered now; read at scrape time. */
  readonly inFlight?: () => number
  /** The tarpit's counts (gateway.tarpit); read at scrape time. Omitted: no tarpit metrics. */
  readonly tarpit?: () => {
    readonly active: number
    readonly bytes: number
    readonly overflowed: number
  }
  /** Node process metrics (CPU, memory, event loop lag, GC): default true. */
  readonly process?: boolean
}

export interface Metrics {
  readonly registry: Registry
  /** Counts a config reload (SIGHUP, file change, admin API). */
  reloaded(ok: boolean, at: number): void
  /** Records one store round trip made outside the data path (readiness probes). */
  storeCall(op: string, seconds: number, ok: boolean): void
  /** Unsubscribes from the channels. */
  close(): void
}

const STATUS_CLASS = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const
const CLASSES = STATUS_CLASS.length
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Most label sets a tally keeps; more (after many reloads with new routes) share one. */
const MAX_SERIES = 10_000
const OTHER = '(other)'

interface Latency {
  /** Observations per bucket of {@link SECONDS}, the last one for +Inf (not cumulative). */
  readonly buckets: Float64Array
  sum: number
  count: number
}

/**
 * Creates a registry and subscribes it to the telemetry channels.
 *
 * The data path only adds to plain numbers in maps keyed by route, rule or upstream: prom-client
 * hashes its labels (and a histogram allocates) on every `inc`/`observe`, several times the
 * cost. The prom-client metrics copy the tallies when Prometheus scrapes.
 * @example
 * const metrics = createMetrics({ inFlight: () => tracker.value })
 * res.end(await metrics.registry.metrics())
 */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry()
  const registers = [registry]
  if (opts.process !== false) collectDefaultMetrics({ register: registry })

  /** route → requests by action (severity order) × status class. */
  const requestTally = new Map<string, Float64Array>()
  /** `route\0rule\0action\0mode` → verdicts. */
  const decisionTally = new Map<string, number>()
  /** upstream name → latency buckets. */
  const latencyTally = new Map<string, Latency>()

  new Counter({
    name: 'bulwark_requests_total',
    help: 'Requests answered, by route template, decided action and response status class.',
    labelNames: ['route', 'action', 'status'] as const,
    registers,
    collect() {
      this.reset()
      for (const [route, cells] of requestTally)
        cells.forEach((n, i) => {
          const action = ACTIONS[Math.floor(i / CLASSES)]!
          if (n > 0) this.inc({ route, action, status: STATUS_CLASS[i % CLASSES]! }, n)
        })
    },
  })
  new Counter({
    name: 'bulwark_decisions_total',
    help: 'Verdicts other than allow, by route template, rule, action and mode (enforce or monitor).',
    labelNames: ['route', 'rule', 'action', 'mode'] as const,
    registers,
    collect() {
      this.reset()
      for (const [key, n] of decisionTally) {
        const [route, rule, action, mode] = key.split('\0') as [string, string, string, string]
        this.inc({ route, rule, action, mode }, n)
      }
    },
  })
  registry.registerMetric(
    tallyHistogram(
      'bulwark_upstream_duration_seconds',
      'Time from a forwarded request arriving to the upstream response head, by upstream.',
      'upstream',
      latencyTally,
    ),
  )
  const storeErrors = new Counter({
    name: 'bulwark_store_errors_total',
    help: 'State store failures: `origin` is the rule whose call failed (notices, at most one per rule per 10 s) or `probe`.',
    labelNames: ['origin'] as const,
    registers,
  })
  const storeLatency = new Histogram({
    name: 'bulwark_store_duration_seconds',
    help: 'State store round trips made by the admin listener (readiness probes), by operation.',
    labelNames: ['op'] as const,
    buckets: SECONDS,
    registers,
  })
  const reloads = new Counter({
    name: 'bulwark_config_reloads_total',
    help: 'Config reloads, by result (ok: in force; error: rejected, the old config stays).',
    labelNames: ['result'] as const,
    registers,
  })
  const lastReload = new Gauge({
    name: 'bulwark_config_last_reload_success_timestamp_seconds',
    help: 'When the config in force was loaded.',
    registers,
  })
  lastReload.set(Date.now() / 1000)
  const inFlight = opts.inFlight
  if (inFlight)
    new Gauge({
      name: 'bulwark_in_flight_requests',
      help: 'Requests being answered now.',
      registers,
      collect() {
        this.set(inFlight())
      },
    })
  const tarpit = opts.tarpit
  if (tarpit) {
    new Gauge({
      name: 'bulwark_tarpit_requests',
      help: 'Delayed answers (deception fakes, chaos) held in the tarpit now.',
      registers,
      collect() {
        this.set(tarpit().active)
      },
    })
    new Gauge({
      name: 'bulwark_tarpit_bytes',
      help: 'Answer bytes held in the tarpit now.',
      registers,
      collect() {
        this.set(tarpit().bytes)
      },
    })
    new Counter({
      name: 'bulwark_tarpit_overflows_total',
      help: 'Delayed answers that found the tarpit full and were answered at once, cheaply.',
      registers,
      collect() {
        this.reset()
        this.inc(tarpit().overflowed)
      },
    })
  }

  const onDecision = function metricsOnDecision(m: unknown) {
    const { ctx, decision, outcome } = m as DecisionMessage
    const route = ctx.route.template
    const cells = slot(requestTally, route, () => new Float64Array(ACTIONS.length * CLASSES))
    const status = outcome.status
    const statusClass = status >= 100 && status < 600 ? (status / 100) | 0 : 0
    cells[SEVERITY[decision.action] * CLASSES + statusClass]!++
    for (const v of decision.verdicts) {
      if (v.action === 'allow') continue
      const mode = v.monitor ? 'monitor' : 'enforce'
      let key = `${route}\0${v.rule}\0${v.action}\0${mode}`
      if (!decisionTally.has(key) && decisionTally.size >= MAX_SERIES)
        key = `${OTHER}\0${OTHER}\0${v.action}\0${mode}`
      decisionTally.set(key, (decisionTally.get(key) ?? 0) + 1)
    }
    const upstream = ctx.route.upstream
    if (outcome.byGateway || upstream === undefined) return
    const l = slot(latencyTally, upstream, () => ({
      buckets: new Float64Array(SECONDS.length + 1),
      sum: 0,
      count: 0,
    }))
    const seconds = outcome.ms / 1000
    let b = 0
    while (b < SECONDS.length && seconds > SECONDS[b]!) b++
    l.buckets[b]!++
    l.sum += seconds
    l.count++
  }
  const onNotice = function metricsOnNotice(m: unknown) {
    const n = m as NoticeMessage
    if (n.kind === 'store-error')
      storeErrors.inc({ origin: typeof n.rule === 'string' ? n.rule : 'unknown' })
  }
  decisionChannel.subscribe(onDecision)
  noticeChannel.subscribe(onNotice)

  return {
    registry,
    reloaded(ok, at) {
      reloads.inc({ result: ok ? 'ok' : 'error' })
      if (ok) lastReload.set(at / 1000)
    },
    storeCall(op, seconds, ok) {
      storeLatency.observe({ op }, seconds)
      if (!ok) storeErrors.inc({ origin: op })
    },
    close() {
      decisionChannel.unsubscribe(onDecision)
      noticeChannel.unsubscribe(onNotice)
    },
  }
}

/** The value kept under `key`, made on first use; past {@link MAX_SERIES} keys, one shared. */
function slot<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key)
  if (v !== undefined) return v
  const k = map.size < MAX_SERIES ? key : OTHER
  v = map.get(k) ?? make()
  map.set(k, v)
  return v
}

/**
 * A Prometheus histogram rendered from a tally. prom-client's registry reads a metric through
 * `get()` (the documented shape of `Histogram.get()`); this one builds it from the counts the
 * data path keeps, per label value.
 */
function tallyHistogram(
  name: string,
  help: string,
  label: string,
  tally: Map<string, Latency>,
): Histogram {
  const metric = {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    collect: undefined,
    async get() {
      const values: {
        labels: Record<string, string | number>
        value: number
        metricName: string
      }[] = []
      for (const [v, l] of tally) {
        let cumulative = 0
        SECONDS.forEach((le, i) => {
          cumulative += l.buckets[i]!
          values.push({
            labels: { [label]: v, le },
            value: cumulative,
            metricName: `${name}_bucket`,
          })
        })
        values.push({
          labels: { [label]: v, le: '+Inf' },
          value: l.count,
          metricName: `${name}_bucket`,
        })
        values.push({ labels: { [label]: v }, value: l.sum, metricName: `${name}_sum` })
        values.push({ labels: { [label]: v }, value: l.count, metricName: `${name}_count` })
      }
      return { name, help, type: metric.type, aggregator: metric.aggregator, values }
    },
    reset() {
      tally.clear()
    },
  }
  return metric as unknown as Histogram
}
