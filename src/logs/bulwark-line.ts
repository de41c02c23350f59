/**
 * Reads one line of Bulwark's own JSON log (src/telemetry/log.ts): `event: 'access'` and
 * `event: 'decision'` lines are requests; any other JSON object (notices, startup lines) is
 * skipped. Called by `parseLine`.
 * @see ../telemetry/event.ts
 */
import { ACTIONS, type Action } from '../engine/types.js'
import type { LineMiss, LogFacets, LogRecord } from './record.js'

const NOT_JSON: LineMiss = { miss: 'malformed', why: 'invalid JSON' }
const NOT_REQUEST: LineMiss = { miss: 'skip', why: 'JSON line that is not a request event' }
const MISSING: LineMiss = {
  miss: 'malformed',
  why: 'request event without method, path, status (0-999), client.ip or time',
}
const FACETS = ['account', 'session', 'apiKey', 'fingerprint'] as const

/**
 * @example
 * parseBulwarkLine('{"event":"access","receivedAt":1700000000000,"method":"GET","path":"/a",…}', 'x.log', 1)
 */
export function parseBulwarkLine(
  text: string,
  source: string,
  lineNo: number,
): LogRecord | LineMiss {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return NOT_JSON
  }
  if (typeof v !== 'object' || v === null) return NOT_JSON
  const e = v as Record<string, unknown>
  if (e.event !== 'access' && e.event !== 'decision') return NOT_REQUEST
  const client = e.client as Record<string, unknown> | undefined
  const time = eventTime(e)
  if (
    typeof e.method !== 'string' ||
    typeof e.path !== 'string' ||
    !isStatus(e.status) ||
    typeof client !== 'object' ||
    client === null ||
    typeof client.ip !== 'string' ||
    time === undefined
  )
    return MISSING
  let facets: Record<string, string> | undefined
  for (const f of FACETS) {
    const value = client[f]
    if (typeof value === 'string') (facets ??= {})[f] = value
  }
  const action = e.action as Action
  // One object shape for every record (absent fields undefined) keeps the consumers monomorphic.
  return {
    format: 'bulwark',
    time,
    ip: client.ip,
    method: e.method.toUpperCase(),
    target: e.path,
    status: e.status,
    userAgent: undefined,
    headers: undefined,
    route: typeof e.route === 'string' ? e.route : undefined,
    facets: facets as LogFacets | undefined,
    action: (ACTIONS as readonly string[]).includes(action) ? action : undefined,
    source,
    lineNo,
    text,
  }
}

function isStatus(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 999
}

/** `receivedAt` (epoch ms), else pino's `time` (epoch ms, or ISO with `isoTime`). */
function eventTime(e: Record<string, unknown>): number | undefined {
  if (typeof e.receivedAt === 'number' && Number.isFinite(e.receivedAt)) return e.receivedAt
  if (typeof e.time === 'number' && Number.isFinite(e.time)) return e.time
  if (typeof e.time === 'string') {
    const t = Date.parse(e.time)
    if (!Number.isNaN(t)) return t
  }
  return undefined
}
