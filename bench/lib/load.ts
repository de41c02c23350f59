/**
 * Load generation: a thin typed wrapper over autocannon (run in the bench process) that also
 * records every response time at sub-millisecond resolution (autocannon's own latency histogram
 * rounds to whole milliseconds, too coarse for loopback).
 */
import { createRequire } from 'node:module'
import { percentile } from './stats.js'

/** The subset of autocannon's options the bench uses. */
interface AutocannonOptions {
  url: string
  method: string
  headers: Record<string, string>
  body?: string
  connections: number
  pipelining: number
  duration: number
  timeout: number
}

/** The subset of autocannon's result the bench reads. */
interface AutocannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats: Record<string, { count: number }>
  requests: { total: number; sent: number }
}

interface AutocannonInstance {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void,
  ): void
}

type Autocannon = (
  options: AutocannonOptions,
  callback: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance

// autocannon is CommonJS without bundled types; load it through require with a local signature.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

/** One load run's parameters. */
export interface LoadOptions {
  /** Absolute URL to hit. */
  url: string
  /** HTTP method. */
  method: string
  /** Request headers. */
  headers: Record<string, string>
  /** Request body, if any. */
  body?: string
  /** Concurrent connections. */
  connections: number
  /** Requests in flight per connection. */
  pipelining: number
  /** Run length in seconds. */
  durationS: number
}

/** One load run's outcome. */
export interface LoadResult {
  /** Responses received (any status). */
  requests: number
  /** Wall time of the run in seconds, as measured by autocannon. */
  durationS: number
  /** Responses per second. */
  reqPerSec: number
  /** Median response time in ms. */
  p50Ms: number | null
  /** 99th-percentile response time in ms. */
  p99Ms: number | null
  /** Connection errors (resets, refused, …). */
  errors: number
  /** Request timeouts. */
  timeouts: number
  /** Responses whose status was not 2xx. */
  non2xx: number
  /** Response count by status code. */
  statusCodes: Record<string, number>
}

/**
 * Runs autocannon once and summarises the result.
 *
 * @param options - Target URL, request shape, concurrency and duration.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  let times = new Float64Array(1 << 16)
  let count = 0
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method,
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        pipelining: options.pipelining,
        duration: options.durationS,
        timeout: 10,
      },
      (err, result) => {
        if (err) {
          reject(err)
          return
        }
        const sorted = times.subarray(0, count).sort()
        const statusCodes: Record<string, number> = {}
        for (const [code, stat] of Object.entries(result.statusCodeStats)) {
          statusCodes[code] = stat.count
        }
        const durationS = result.duration > 0 ? result.duration : options.durationS
        resolve({
          requests: result.requests.total,
          durationS,
          reqPerSec: result.requests.total / durationS,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes,
        })
      },
    )
    instance.on('response', (_client, _status, _bytes, ms) => {
      if (count === times.length) {
        const bigger = new Float64Array(times.length * 2)
        bigger.set(times)
        times = bigger
      }
      times[count++] = ms
    })
  })
}
