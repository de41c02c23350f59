import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runReplay } from '../../src/replay/replay.js'
import { monitorOnly } from '../../src/replay/monitor-config.js'
import { blindSpots } from '../../src/replay/blind-spots.js'
import { deepFreeze } from '../../src/config/freeze.js'
import { config } from '../helpers/engine.js'
import { bulwarkLine, nginxLine, T0, tempDir } from '../logs/fixtures.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  tmp = await tempDir('bulwark-replay-')
})
afterAll(() => tmp.cleanup())

const LOGIN_RULE = {
  id: 'login-per-account',
  paths: ['/api/login'],
  methods: ['POST'],
  key: ['account'],
  limit: 5,
  window: '60s',
  // Enforced in the config: replay must still only monitor it.
  mode: 'enforce',
}

/** 10 logins for one account, each from another IP, one second apart. */
function rotatingLogins(line: (i: number) => string): string {
  return Array.from({ length: 10 }, (_, i) => line(i)).join('\n') + '\n'
}

describe('replay', () => {
  it('reports the would-have throttles of a login limit, by rule and by identity (Bulwark log)', async () => {
    const cfg = config({
      identity: { account: [{ body: 'username', paths: ['/api/login'] }] },
      limits: { rules: [LOGIN_RULE] },
    })
    const file = await tmp.write(
      'logins.log',
      rotatingLogins((i) =>
        bulwarkLine({
          ip: `198.51.100.${i + 1}`,
          time: T0 + i * 1000,
          method: 'POST',
          path: '/api/login',
          account: 'alice',
          status: 401,
        }),
      ),
    )
    const r = await runReplay(cfg, [file], { configFile: 'bulwark.yaml' })
    expect(r).toMatchObject({ records: 10, malformed: 0, errors: 0, config: 'bulwark.yaml' })
    expect(r.actions).toMatchObject({ allow: 5, throttle: 5, block: 0 })
    expect(r.rules).toHaveLength(1)
    const rule = r.rules[0]!
    expect(rule).toMatchObject({
      rule: 'limits.login-per-account',
      count: 5,
      actions: { throttle: 5 },
      enforced: false,
      identities: 1,
    })
    // The limits layer remembers a key over its limit until it resets: its count stays at 6.
    expect(rule.examples.map((e) => [e.lineNo, e.reason])).toEqual([
      [6, 'account "alice": 6 requests > 5 per 60s'],
      [7, 'account "alice": 6 requests > 5 per 60s'],
      [8, 'account "alice": 6 requests > 5 per 60s'],
    ])
    expect(rule.examples[0]!.text).toContain('"ip":"198.51.100.6"')
    expect(r.identities).toEqual([
      {
        identity: 'account "alice"',
        count: 5,
        error: 0,
        rules: ['limits.login-per-account'],
        ips: 5,
      },
    ])
    expect(r.warnings).toEqual([])
  })

  it('does the same from nginx lines when the account comes from the query', async () => {
    const cfg = config({
      identity: { account: [{ query: 'user' }] },
      limits: { rules: [LOGIN_RULE] },
    })
    const file = await tmp.write(
      'logins-nginx.log',
      rotatingLogins((i) =>
        nginxLine({
          ip: `198.51.100.${i + 1}`,
          time: T0 + i * 1000,
          method: 'POST',
          path: '/api/login?user=Alice',
          status: 401,
        }),
      ),
    )
    const r = await runReplay(cfg, [file])
    expect(r.actions).toMatchObject({ allow: 5, throttle: 5 })
    expect(r.identities[0]).toMatchObject({ identity: 'account "alice"', count: 5, ips: 5 })
  })

  it('drives the clock from the log: the same logins a minute apart are never throttled', async () => {
    const cfg = config({
      identity: { account: [{ query: 'user' }] },
      limits: { rules: [LOGIN_RULE] },
    })
    const file = await tmp.write(
      'slow-logins.log',
      rotatingLogins((i) =>
        nginxLine({ time: T0 + i * 61_000, method: 'POST', path: '/api/login?user=alice' }),
      ),
    )
    const r = await runReplay(cfg, [file])
    expect(r.actions).toMatchObject({ allow: 10, throttle: 0 })
    expect(r.rules).toEqual([])
  })

  it('counts outcomes from the logged status, and reports refusals enforced even in monitor mode', async () => {
    const cfg = config({
      limits: {
        rules: [
          {
            id: 'failed-per-ip',
            paths: ['/api/login'],
            key: ['ip'],
            count: 'outcomes',
            outcomes: [401],
            limit: 3,
            window: '10m',
          },
        ],
      },
    })
    const lines = [
      ...Array.from({ length: 6 }, (_, i) =>
        nginxLine({
          ip: '203.0.113.50',
          time: T0 + i,
          method: 'POST',
          path: '/api/login',
          status: 401,
        }),
      ),
      nginxLine({ ip: '203.0.113.51', time: T0 + 10, path: '/files/a%2fb' }),
    ]
    const r = await runReplay(cfg, [await tmp.write('outcomes.log', lines.join('\n'))])
    expect(r.rules.map((x) => [x.rule, x.count, x.enforced, x.actions])).toEqual([
      ['limits.failed-per-ip', 3, false, { throttle: 3 }],
      ['request.ambiguous', 1, true, { block: 1 }],
    ])
    expect(r.actions).toMatchObject({ allow: 3, throttle: 3, block: 1 })
    expect(r.identities.map((i) => [i.identity, i.count])).toEqual([
      ['ip "203.0.113.50"', 3],
      ['ip "203.0.113.51"', 1],
    ])
  })

  it('lets the IP stand in for a fingerprint a line cannot give, and says so', async () => {
    const cfg = config({
      limits: { rules: [{ id: 'per-device', key: ['fingerprint'], limit: 2, window: '60s' }] },
    })
    // Three clients, two requests each: with one shared "empty" fingerprint, 4 would be throttled.
    const lines = [1, 2, 3, 1, 2, 3].map((n, i) =>
      bulwarkLine({ ip: `192.0.2.${n}`, time: T0 + i, path: '/a' }),
    )
    const r = await runReplay(cfg, [await tmp.write('no-fp.log', lines.join('\n'))])
    expect(r.actions).toMatchObject({ allow: 6, throttle: 0 })
    expect(r.warnings).toEqual([
      "fingerprint: 6 lines carried neither a fingerprint nor headers to make one; replay used each line's IP in its place",
    ])
  })

  it('lists what the logs cannot show the config', () => {
    const cfg = config({
      identity: { account: [{ body: 'username', paths: ['/api/login'] }] },
      limits: {
        rules: [
          { id: 'a', key: ['account'], limit: 1, window: '1s' },
          { id: 'b', key: ['field:email'], limit: 1, window: '1s' },
          {
            id: 'c',
            key: ['fingerprint'],
            count: 'distinct',
            distinct: 'query:q',
            limit: 1,
            window: '1s',
          },
          { id: 'd', key: ['ip', 'header:x-api-key'], limit: 1, window: '1s' },
          { id: 'e', key: ['ip', 'route'], limit: 1, window: '1s' },
        ],
      },
    })
    expect(blindSpots(cfg, { nginx: 1 })).toEqual([
      'limits.a uses account: accounts from request bodies are only in Bulwark logs (client.account), not in nginx lines',
      'limits.b uses field:email: request bodies are not in logs, so it counts nothing in a replay',
      'limits.c uses fingerprint: nginx lines give only the User-Agent, so fingerprints are coarser than live (Bulwark logs carry the live one)',
      'limits.d uses header:x-api-key: this header is not in logs, so it counts nothing in a replay',
    ])
    expect(blindSpots(cfg, { bulwark: 1 })).toEqual([
      'limits.b uses field:email: request bodies are not in logs, so it counts nothing in a replay',
      "limits.c uses query:q: Bulwark's log keeps the path without its query string",
      'limits.d uses header:x-api-key: this header is not in logs, so it counts nothing in a replay',
    ])
  })
})

describe('blindSpots of other layers', () => {
  it('says which layers the logs cannot feed', () => {
    const cfg = config({ cors: { rules: [{ origins: ['https://shop.example'] }] }, behavior: {} })
    expect(blindSpots(cfg, { nginx: 1 })).toEqual([
      'cors: the Origin header is not in logs, so no request looks cross-origin',
      'behavior: flows and risk follow session, account and fingerprint, which nginx lines lack (Bulwark logs carry them)',
    ])
    expect(blindSpots(cfg, { bulwark: 1 })).toEqual([
      'cors: the Origin header is not in logs, so no request looks cross-origin',
    ])
  })
})

describe('monitorOnly', () => {
  it('copies the config with every mode monitor and a memory store, leaving the original alone', () => {
    const original = deepFreeze(
      config({
        mode: 'enforce',
        store: { type: 'redis', url: 'redis://10.0.0.1:6379', maxKeys: 5000 },
        access: { rules: [{ id: 'x', paths: ['/admin/*'], mode: 'enforce' }] },
        limits: { rules: [{ ...LOGIN_RULE }, { ...LOGIN_RULE, id: 'plain', mode: undefined }] },
      }),
    )
    const m = monitorOnly(original)
    expect(m.mode).toBe('monitor')
    expect(m.store).toEqual({ type: 'memory', maxKeys: 5000 })
    expect(m.access!.rules[0]!.mode).toBe('monitor')
    expect(m.limits!.rules.map((r) => r.mode)).toEqual(['monitor', undefined])
    expect(Object.isFrozen(m.limits!.rules[0])).toBe(true)
    expect(original.mode).toBe('enforce')
    expect(original.limits!.rules[0]!.mode).toBe('enforce')
    expect(original.store.type).toBe('redis')
  })
})
