/**
 * The in-memory recent past without sockets: the recent-events rings (bounded, sampled,
 * filtered, numbered), the traffic counters behind the charts, and the feed that fills both
 * from `bulwark:decision` messages.
 */
import { describe, expect, it } from 'vitest'
import { subscribeFeed } from '../../src/admin/feed.js'
import { FlagIndex } from '../../src/admin/flags.js'
import { EventStream } from '../../src/admin/sse.js'
import { Traffic } from '../../src/admin/traffic.js'
import type { Action, Decision, RequestContext, Verdict } from '../../src/engine/types.js'
import { decisionChannel } from '../../src/telemetry/channels.js'
import type { DecisionEvent } from '../../src/telemetry/event.js'
import { RecentEvents } from '../../src/telemetry/recent.js'

const T = Date.UTC(2026, 0, 1, 12, 0, 0)

function event(
  action: Action,
  ip: string,
  at = T,
  extra: Partial<DecisionEvent> = {},
): DecisionEvent {
  const reasons =
    action === 'allow'
      ? []
      : [{ rule: `limits.${action}-rule`, action, reason: `too many from ${ip}`, monitor: false }]
  return {
    requestId: `r-${Math.random()}`,
    receivedAt: at,
    method: 'GET',
    path: '/api/products/1',
    route: '/api/products/:id',
    client: { ip, ipPrefix: ip, ipSource: 'socket', ipHop: 0 },
    action,
    mode: 'enforce',
    status: action === 'allow' ? 200 : 429,
    ms: 1,
    reasons,
    rules: reasons.map((r) => r.rule),
    ...extra,
  }
}

describe('RecentEvents', () => {
  it('is bounded: the oldest decisions make way, and sequence numbers keep growing', () => {
    const r = new RecentEvents({ capacity: 3 })
    for (let i = 0; i < 5; i++) r.add(event('block', `192.0.2.${i}`))
    const kept = r.query()
    expect(kept.map((e) => e.client.ip)).toEqual(['192.0.2.4', '192.0.2.3', '192.0.2.2'])
    expect(kept.map((e) => e.seq)).toEqual([5, 4, 3])
    expect(r.seq).toBe(5)
  })

  it('keeps plain allows apart, so a flood of them cannot push decisions out', () => {
    const r = new RecentEvents({ capacity: 2, allowCapacity: 2 })
    r.add(event('throttle', '192.0.2.1'))
    for (let i = 0; i < 10; i++) r.add(event('allow', '192.0.2.2'))
    expect(r.query({ actions: ['throttle'] })).toHaveLength(1)
    expect(r.query().map((e) => e.action)).toEqual(['allow', 'allow', 'throttle'])
  })

  it('counts an allow with only allow verdicts (CORS, RateLimit headers) as plain', () => {
    const r = new RecentEvents({ capacity: 1, allowCapacity: 5 })
    r.add(event('block', '192.0.2.1'))
    const cors = [{ rule: 'cors.x', action: 'allow' as const, reason: 'preflight', monitor: false }]
    r.add(event('allow', '192.0.2.2', T, { reasons: cors, rules: ['cors.x'] }))
    expect(r.query({ actions: ['block'] })).toHaveLength(1)
  })

  it('samples at most allowPerSecond allowed requests a second', () => {
    const r = new RecentEvents({ allowPerSecond: 3 })
    const taken = Array.from({ length: 10 }, (_, i) => r.sampleAllow(T + i))
    expect(taken.filter(Boolean)).toHaveLength(3)
    expect(r.sampleAllow(T + 1_000)).toBe(true)
    // answers ending out of order do not reopen the budget of a second gone by
    expect([T + 999, T + 1_001, T + 998, T + 1_002].map((t) => r.sampleAllow(t))).toEqual([
      true,
      true,
      false,
      false,
    ])
  })

  it('filters by action, rule, route, facet, text, time and sequence, newest first', () => {
    const r = new RecentEvents()
    r.add(event('allow', '192.0.2.1', T))
    r.add(event('throttle', '192.0.2.1', T + 1))
    r.add(event('block', '192.0.2.2', T + 2, { path: '/api/admin/users', route: '/api/admin/*' }))
    const ips = (f: Parameters<RecentEvents['query']>[0]) => r.query(f).map((e) => e.seq)
    expect(ips({ actions: ['throttle', 'block'] })).toEqual([3, 2])
    expect(ips({ rule: 'limits.block-rule' })).toEqual([3])
    expect(ips({ route: '/api/admin/*' })).toEqual([3])
    expect(ips({ facet: { name: 'ip', value: '192.0.2.1' } })).toEqual([2, 1])
    expect(ips({ text: 'ADMIN' })).toEqual([3])
    expect(ips({ text: 'too many from 192.0.2.1' })).toEqual([2])
    expect(ips({ since: T + 1 })).toEqual([3, 2])
    expect(ips({ after: 1 })).toEqual([3, 2])
    expect(ips({ limit: 1 })).toEqual([3])
  })
})

describe('Traffic', () => {
  it('counts requests per second by action, in buckets that end with the last full second', () => {
    const t = new Traffic()
    t.record(T + 100, '/a', 'allow', [])
    t.record(T + 900, '/a', 'block', ['access.x'])
    t.record(T + 1_500, '/b', 'throttle', ['limits.y'], 0)
    t.record(T + 12_000, '/b', 'deceive', ['deception.env'], 1)
    const s = t.summary(T + 13_000, 5_000, 60_000)
    expect(s.series).toHaveLength(12)
    const last = s.series.at(-1)!
    expect(last[0]).toBe(T + 8_000)
    expect(last[1][s.actions.indexOf('deceive')]).toBe(1)
    expect(s.totals).toMatchObject({ allow: 1, block: 1, throttle: 1, deceive: 1 })
    expect(s.routes.map((r) => [r.route, r.total])).toEqual([
      ['/a', 2],
      ['/b', 2],
    ])
    expect(s.rules).toEqual(
      expect.arrayContaining([
        { rule: 'access.x', count: 1 },
        { rule: 'deception.env', count: 1 },
      ]),
    )
    expect(s.honeypotHits).toBe(1)
    expect(t.lastSecond(T + 1_200)).toEqual([1, 0, 0, 0, 0, 0, 1])
  })

  it('keeps the routes of a span that starts inside the previous minute', () => {
    // T is on a minute boundary (see above); a request 20 s before it and a summary of the last
    // 60 s taken 10 s after it: the request is in the span, its minute only partly.
    const t = new Traffic()
    t.record(T - 20_000, '/early', 'throttle', ['limits.y'])
    const s = t.summary(T + 10_000, 10_000, 60_000)
    expect(s.totals.throttle).toBe(1)
    expect(s.routes.map((r) => r.route)).toEqual(['/early'])
    expect(s.rules).toEqual([{ rule: 'limits.y', count: 1 }])
  })

  it('forgets what is older than its window as time moves on', () => {
    const t = new Traffic()
    t.record(T, '/a', 'block', ['access.x'])
    const later = t.summary(T + 20 * 60_000)
    expect(later.totals.block).toBe(0)
    expect(later.routes).toEqual([])
    expect(t.lastSecond(T + 900_000 + 1_000)).toEqual([0, 0, 0, 0, 0, 0, 0])
  })
})

describe('the admin feed', () => {
  it('turns decision messages into counts, recent events and stream messages', () => {
    const traffic = new Traffic()
    const recent = new RecentEvents()
    const stream = new EventStream()
    const sent: [string, unknown][] = []
    stream.send = (name: string, data: unknown) => void sent.push([name, data])
    let now = T
    const stop = subscribeFeed({ traffic, recent, stream, flags: new FlagIndex(), now: () => now })
    const identity = {
      ip: '192.0.2.9',
      ipPrefix: '192.0.2.9',
      ipSource: 'socket' as const,
      ipHop: 0,
    }
    const ctx = {
      id: 'req-1',
      method: 'GET',
      path: '/.env',
      route: { template: '*', params: {}, upstream: undefined },
      identity,
      receivedAt: T,
    } as unknown as RequestContext
    const trap: Verdict = {
      action: 'deceive',
      rule: 'deception.env',
      reason: 'honeypot',
      monitor: false,
      data: { trap: 'honeypot' },
    }
    const decision: Decision = { action: 'deceive', verdicts: [trap], decisive: trap }
    decisionChannel.publish({ ctx, decision, outcome: { status: 200, ms: 1500, byGateway: true } })
    // the request's identity object lives on; the event keeps a copy
    identity.ip = 'changed'
    const allow: Decision = { action: 'allow', verdicts: [] }
    for (let i = 0; i < 50; i++)
      decisionChannel.publish({
        ctx,
        decision: allow,
        outcome: { status: 200, ms: 1, byGateway: false },
      })
    stop()
    now = T + 2_000
    expect(traffic.summary(now, 1_000, 60_000).honeypotHits).toBe(1)
    expect(traffic.summary(now, 1_000, 60_000).totals).toMatchObject({ deceive: 1, allow: 50 })
    const [first] = recent.query({ actions: ['deceive'] })
    expect(first).toMatchObject({ seq: 1, path: '/.env', client: { ip: '192.0.2.9' } })
    // 20 allowed requests a second are sampled into events
    expect(recent.query({ actions: ['allow'], limit: 100 })).toHaveLength(20)
    expect(sent[0]).toEqual(['decision', first])
  })
})
