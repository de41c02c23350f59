/**
 * The admin API: one handler per `METHOD /path`, each reading the parts it is given and
 * answering JSON. Authentication is done before a handler runs (admin.ts).
 * @see ../../docs/dashboard.md#admin-api
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config/schema.js'
import { ACTIONS, type Action, type FacetValues } from '../engine/types.js'
import { isSecretDigest, secretDigest } from '../identity/facets.js'
import { enrollTotp } from '../layers/auth/enroll-totp.js'
import type { AuthLayer } from '../layers/auth/layer.js'
import { flagKey, parseFlagKey } from '../identity/flags.js'
import type { Gateway } from '../proxy/gateway.js'
import type { Metrics } from '../telemetry/metrics.js'
import {
  CLIENT_FACETS,
  type ClientFacet,
  type EventFilter,
  isPlainAllow,
  type RecentEvents,
} from '../telemetry/recent.js'
import { flagsFor, listFlags, type FlagIndex } from './flags.js'
import { HttpError, json, readJson } from './http.js'
import { describeIdentity } from './identity.js'
import type { EventStream } from './sse.js'
import type { Traffic } from './traffic.js'
import { unblock } from './unblock.js'

/** The result of a config reload, from any trigger (SIGHUP, file change, the admin API). */
export interface ReloadResult {
  readonly ok: boolean
  readonly at: number
  readonly why: string
  /** The error code and message of a rejected config. */
  readonly error?: string
}

/** What the handlers work with. */
export interface ApiParts {
  readonly gateway: Gateway
  readonly recent: RecentEvents
  readonly traffic: Traffic
  readonly flags: FlagIndex
  readonly stream: EventStream
  readonly metrics: Metrics
  readonly now: () => number
  readonly startedAt: number
  readonly version: string
  readonly configFile: string | undefined
  readonly reload: (() => Promise<ReloadResult>) | undefined
  lastReload: ReloadResult | undefined
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  p: ApiParts,
) => Promise<void> | void

/** Every authenticated endpoint, keyed `METHOD /path`. */
export const API: Readonly<Record<string, Handler>> = {
  'GET /metrics': async (_req, res, _url, p) => {
    const body = await p.metrics.registry.metrics()
    res.writeHead(200, {
      'content-type': p.metrics.registry.contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    })
    res.end(body)
  },

  'GET /api/status': (_req, res, _url, p) => {
    const config = p.gateway.engine.config
    json(res, 200, {
      version: p.version,
      startedAt: p.startedAt,
      now: p.now(),
      gateway: p.gateway.url,
      listening: p.gateway.server.listening,
      mode: config.mode,
      store: config.store.type,
      configFile: p.configFile ?? null,
      canReload: p.reload !== undefined,
      lastReload: p.lastReload ?? null,
      streams: p.stream.size,
      layers: p.gateway.engine.layers.map((l) => l.name),
      rules: ruleIds(config),
      routes: config.routes.map((r) => ({
        path: r.path,
        methods: r.methods,
        upstream: r.upstream ?? null,
      })),
    })
  },

  'GET /api/summary': (_req, res, url, p) => {
    const span = number(url, 'span', 60, 900, 900) * 1000
    const bucket = number(url, 'bucket', 1, 300, 10) * 1000
    json(res, 200, p.traffic.summary(p.now(), bucket, span))
  },

  'GET /api/events': (_req, res, url, p) => {
    json(res, 200, { seq: p.recent.seq, events: p.recent.query(filterFrom(url)) })
  },

  'GET /api/events/stream': (req, res, url, p) => {
    const allowed = url.searchParams.get('allowed') === '1'
    const last = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? NaN)
    const backlog = Number.isInteger(last)
      ? p.recent.query({ after: last, limit: 500 }).filter((e) => allowed || !isPlainAllow(e))
      : []
    p.stream.open(req, res, { allowed, backlog: backlog.reverse() })
  },

  'GET /api/flags': async (_req, res, _url, p) => {
    const now = p.now()
    const events = p.recent.query({ limit: Number.MAX_SAFE_INTEGER })
    json(res, 200, { now, flags: await listFlags(p.gateway.engine.store, p.flags, events, now) })
  },

  'DELETE /api/flags': async (_req, res, url, p) => {
    const key = url.searchParams.get('key') ?? ''
    if (!parseFlagKey(key))
      throw new HttpError(400, 'expected ?key=flag:<facet>:<value> (facet: ip, fingerprint, …)')
    const [was] = await p.gateway.engine.store.flagged([key], p.now())
    await p.gateway.engine.store.unflag(key)
    p.flags.forget(key)
    json(res, 200, { key, removed: was !== undefined })
  },

  'GET /api/identity': async (_req, res, url, p) => {
    const raw = url.searchParams.get('value')
    if (!raw) throw new HttpError(400, 'expected ?facet=<facet>&value=<value>')
    const { name: facet, value } = eventFacet(facetParam(url.searchParams.get('facet')), raw)
    const view = describeIdentity(p.recent, facet, value)
    const keys = [
      flagKey(facet, value),
      ...CLIENT_FACETS.flatMap((f) => view.related[f].map((r) => flagKey(f, r.value))),
    ]
    const flags = await flagsFor(p.gateway.engine.store, p.flags, keys, p.now())
    json(res, 200, { ...view, flags })
  },

  'POST /api/unblock': async (req, res, _url, p) => {
    const body = await readJson(req)
    const facets = facetValues(body.facets)
    json(res, 200, await unblock(p.gateway.engine, facets, p.flags, p.now()))
  },

  /**
   * Enrols an account for the built-in TOTP step-up: a new secret (replacing any earlier one),
   * stored sealed; the answer carries the secret and the `otpauth://` URI to show as a QR code,
   * once (`cache-control: no-store`).
   */
  'POST /api/totp/enroll': async (req, res, _url, p) => {
    const body = await readJson(req)
    const account = body.account
    if (typeof account !== 'string' || account.trim() === '' || account.length > 512)
      throw new HttpError(400, 'expected { "account": "<the token subject to enrol>" }')
    const engine = p.gateway.engine
    if (!engine.layers.some((l) => l.name === 'auth' && (l as AuthLayer).enrollTotp))
      throw new HttpError(409, 'this config has no auth.totp block: TOTP step-up is off')
    const { secret, otpauthUrl } = await enrollTotp(engine, account)
    json(res, 200, { account, secret, otpauthUrl })
  },

  'POST /api/reload': async (_req, res, _url, p) => {
    if (!p.reload) throw new HttpError(409, 'this gateway was not started from a config file')
    const result = await p.reload()
    json(res, result.ok ? 200 : 422, result)
  },
}

/** Rule ids of the config, as verdicts name them (`limits.login-per-account`). */
function ruleIds(config: Config): string[] {
  const out: string[] = []
  for (const [type, block] of Object.entries(config))
    if (block && typeof block === 'object' && Array.isArray((block as { rules?: unknown }).rules))
      for (const r of (block as { rules: { id?: unknown }[] }).rules)
        if (typeof r.id === 'string') out.push(`${type}.${r.id}`)
  return out
}

function number(url: URL, name: string, min: number, max: number, dflt: number): number {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return dflt
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min || n > max)
    throw new HttpError(
      400,
      `expected ${name} between ${min} and ${max}, got ${JSON.stringify(raw)}`,
    )
  return n
}

function facetParam(raw: string | null): ClientFacet {
  if (raw !== null && (CLIENT_FACETS as readonly string[]).includes(raw)) return raw as ClientFacet
  throw new HttpError(400, `expected facet to be one of ${CLIENT_FACETS.join(', ')}`)
}

/** `?action=block,throttle&rule=…&route=…&facet=ip&value=…&q=…&after=…&since=…&limit=…` */
export function filterFrom(url: URL): EventFilter {
  const q = url.searchParams
  const actions = q.get('action')?.split(',').filter(Boolean)
  for (const a of actions ?? [])
    if (!(ACTIONS as readonly string[]).includes(a))
      throw new HttpError(
        400,
        `expected action among ${ACTIONS.join(', ')}, got ${JSON.stringify(a)}`,
      )
  const facet = q.get('facet')
  const value = q.get('value')
  return {
    limit: number(url, 'limit', 1, 2_000, 100),
    ...(actions?.length ? { actions: actions as Action[] } : {}),
    ...(q.get('rule') ? { rule: q.get('rule')! } : {}),
    ...(q.get('route') ? { route: q.get('route')! } : {}),
    ...(q.get('q') ? { text: q.get('q')! } : {}),
    ...(facet !== null && value ? { facet: eventFacet(facetParam(facet), value) } : {}),
    ...(q.has('after') ? { after: number(url, 'after', 0, Number.MAX_SAFE_INTEGER, 0) } : {}),
    ...(q.has('since') ? { since: number(url, 'since', 0, Number.MAX_SAFE_INTEGER, 0) } : {}),
  }
}

/** `{ ip: '1.2.3.4', fingerprint: ['a', 'b'] }`, checked: known facets, strings, bounded. */
export function facetValues(raw: unknown): FacetValues {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new HttpError(
      400,
      'expected facets: { ip?, ipPrefix?, fingerprint?, account?, session?, apiKey?, device? }',
    )
  const out: Record<string, string[]> = {}
  let n = 0
  for (const [name, v] of Object.entries(raw)) {
    if (!(CLIENT_FACETS as readonly string[]).includes(name))
      throw new HttpError(
        400,
        `unknown facet ${JSON.stringify(name)}: expected one of ${CLIENT_FACETS.join(', ')}`,
      )
    const values = Array.isArray(v) ? v : [v]
    if (!values.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 512))
      throw new HttpError(400, `facets.${name}: expected a string or a list of strings`)
    n += values.length
    out[name] = (values as string[]).map((x) => facetValue(name, x))
  }
  if (n === 0) throw new HttpError(400, 'expected at least one facet value')
  if (n > 100) throw new HttpError(400, 'at most 100 facet values at once')
  return out
}

/** A facet value as the gateway keys it: session ids and API keys by their digest only. */
function facetValue(name: string, value: string): string {
  return (name === 'session' || name === 'apiKey') && !isSecretDigest(value)
    ? secretDigest(value)
    : value
}

/** An events filter on a facet; a session id or API key is matched by its digest. */
function eventFacet<N extends string>(name: N, value: string): { name: N; value: string } {
  return { name, value: facetValue(name, value) }
}
