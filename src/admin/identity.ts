/**
 * One client, as recent events saw it: the facets seen together with the one asked about (its
 * IPs, fingerprints, accounts…), what it was told (actions), the rules it set off (signals),
 * the routes it used, and its latest events. Built on demand from the recent-events rings.
 *
 * Called by the admin API (`GET /api/identity`). Reads RecentEvents only.
 */
import { ACTIONS, type Action } from '../engine/types.js'
import {
  CLIENT_FACETS,
  type ClientFacet,
  type RecentEvent,
  type RecentEvents,
} from '../telemetry/recent.js'

export interface IdentityView {
  readonly facet: ClientFacet
  readonly value: string
  readonly events: number
  readonly firstSeen?: number
  readonly lastSeen?: number
  /** Other facet values seen on the same requests, most frequent first. */
  readonly related: Readonly<Record<ClientFacet, readonly { value: string; count: number }[]>>
  readonly actions: Readonly<Record<Action, number>>
  readonly signals: readonly {
    rule: string
    action: Action
    monitor: boolean
    count: number
    lastReason: string
  }[]
  readonly routes: readonly { route: string; count: number }[]
  readonly latest: readonly RecentEvent[]
}

/**
 * @example
 * describeIdentity(recent, 'ip', '203.0.113.9')
 */
export function describeIdentity(
  recent: RecentEvents,
  facet: ClientFacet,
  value: string,
  latest = 50,
): IdentityView {
  const events = recent.query({ facet: { name: facet, value }, limit: Number.MAX_SAFE_INTEGER })
  const related = Object.fromEntries(
    CLIENT_FACETS.map((f) => [f, new Map<string, number>()]),
  ) as Record<ClientFacet, Map<string, number>>
  const actions = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>
  const signals = new Map<string, IdentityView['signals'][number]>()
  const routes = new Map<string, number>()
  for (const e of events) {
    for (const f of CLIENT_FACETS) {
      const v = e.client[f]
      if (v !== undefined && !(f === facet && v === value))
        related[f].set(v, (related[f].get(v) ?? 0) + 1)
    }
    actions[e.action]++
    routes.set(e.route, (routes.get(e.route) ?? 0) + 1)
    // Events are newest first: the first reason seen for a rule is its latest.
    for (const r of e.reasons) {
      const s = signals.get(r.rule)
      if (s) signals.set(r.rule, { ...s, count: s.count + 1 })
      else
        signals.set(r.rule, {
          rule: r.rule,
          action: r.action,
          monitor: r.monitor,
          count: 1,
          lastReason: r.reason,
        })
    }
  }
  const ranked = (m: Map<string, number>) =>
    [...m].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count)
  return {
    facet,
    value,
    events: events.length,
    ...(events.length
      ? { firstSeen: events[events.length - 1]!.receivedAt, lastSeen: events[0]!.receivedAt }
      : {}),
    related: Object.fromEntries(
      CLIENT_FACETS.map((f) => [f, ranked(related[f]).slice(0, 20)]),
    ) as Record<ClientFacet, { value: string; count: number }[]>,
    actions,
    signals: [...signals.values()].sort((a, b) => b.count - a.count),
    routes: ranked(routes)
      .slice(0, 20)
      .map(({ value: route, count }) => ({ route, count })),
    latest: events.slice(0, latest),
  }
}
