/**
 * The admin API client: JSON over fetch with the session cookie, and the live event stream.
 * A 401 anywhere sends the page back to the sign-in form.
 */
import type {
  DecisionEvent,
  Facet,
  Flag,
  IdentityView,
  Status,
  Summary,
  UnblockResult,
} from './types.js'

export class Unauthorized extends Error {}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init })
  if (res.status === 401) throw new Unauthorized('authentication required')
  const body = (await res.json().catch(() => ({}))) as T & { error?: string }
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`)
  return body
}

function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  return call<T>(path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
}

export const api = {
  session: () => call<{ auth: 'none' | 'token'; authenticated: boolean }>('api/session'),
  login: (token: string) => send<{ auth: string }>('POST', 'api/session', { token }),
  logout: () => send<object>('DELETE', 'api/session'),
  status: () => call<Status>('api/status'),
  summary: (span = 900, bucket = 10) => call<Summary>(`api/summary?span=${span}&bucket=${bucket}`),
  events: (query = '') =>
    call<{ seq: number; events: DecisionEvent[] }>(`api/events?limit=200${query}`),
  flags: () => call<{ now: number; flags: Flag[] }>('api/flags'),
  identity: (facet: Facet, value: string) =>
    call<IdentityView>(
      `api/identity?facet=${encodeURIComponent(facet)}&value=${encodeURIComponent(value)}`,
    ),
  unblock: (facets: Partial<Record<Facet, string[]>>) =>
    send<UnblockResult>('POST', 'api/unblock', { facets }),
  unflag: (key: string) =>
    send<{ removed: boolean }>('DELETE', `api/flags?key=${encodeURIComponent(key)}`),
  reload: () => send<{ ok: boolean; error?: string }>('POST', 'api/reload'),
}

export interface StreamHandlers {
  decision(e: DecisionEvent): void
  tick(t: { t: number; counts: number[] }): void
  notice(n: { kind: string; level: string; msg: string }): void
  reload(r: { ok: boolean; why: string; error?: string }): void
  state(live: boolean): void
}

/** Opens the live stream (`allowed`: sampled allowed requests too), resuming after `after`. */
export function openStream(after: number, allowed: boolean, on: StreamHandlers): () => void {
  const url = `api/events/stream?after=${after}${allowed ? '&allowed=1' : ''}`
  const es = new EventSource(url, { withCredentials: true })
  const parse = <T>(m: MessageEvent<string>) => JSON.parse(m.data) as T
  es.addEventListener('open', () => on.state(true))
  es.addEventListener('error', () => on.state(false))
  es.addEventListener('decision', (m) => on.decision(parse(m)))
  es.addEventListener('tick', (m) => on.tick(parse(m)))
  es.addEventListener('notice', (m) => on.notice(parse(m)))
  es.addEventListener('reload', (m) => on.reload(parse(m)))
  return () => es.close()
}
