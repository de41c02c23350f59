import { describe, expect, it } from 'vitest'
import { localTime, unescapeLog } from '../../src/logs/nginx-line.js'
import { parseLine } from '../../src/logs/parse-line.js'

const at = Date.UTC(2023, 9, 10, 13, 55, 36)

describe('parseLine: nginx combined', () => {
  it('reads every field', () => {
    const text =
      '203.0.113.9 - bob [10/Oct/2023:13:55:36 +0000] "GET /api/products/7?x=1 HTTP/1.1" 200 512 "https://shop.test/" "Mozilla/5.0 (X11)"'
    expect(parseLine(text, 'access.log', 3)).toEqual({
      format: 'nginx',
      time: at,
      ip: '203.0.113.9',
      method: 'GET',
      target: '/api/products/7?x=1',
      status: 200,
      userAgent: 'Mozilla/5.0 (X11)',
      headers: { 'user-agent': 'Mozilla/5.0 (X11)', referer: 'https://shop.test/' },
      source: 'access.log',
      lineNo: 3,
      text,
    })
  })

  it('takes the common format (no referer, no agent), trailing fields, IPv6 and absolute-form', () => {
    const common = parseLine(
      '::1 - - [10/Oct/2023:13:55:36 +0000] "POST /login HTTP/1.0" 401 -',
      'f',
      1,
    )
    expect(common).toMatchObject({ ip: '::1', method: 'POST', target: '/login', status: 401 })
    expect(common).toMatchObject({ userAgent: undefined, headers: undefined })
    const extra = parseLine(
      '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET http://gw.test/a?b HTTP/1.1" 304 0 "-" "-" "9.9.9.9" 0.004',
      'f',
      2,
    )
    expect(extra).toMatchObject({ target: '/a?b', status: 304 })
    expect(extra).toMatchObject({ headers: undefined })
  })

  it('undoes nginx \\xHH and Apache \\" escaping', () => {
    const r = parseLine(
      '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET /q HTTP/1.1" 200 1 "-" "a \\"quoted\\" \\xE2\\x82\\xAC agent"',
      'f',
      1,
    )
    expect(r).toMatchObject({ userAgent: 'a "quoted" € agent' })
    expect(unescapeLog('plain')).toBe('plain')
    expect(unescapeLog('caf\\xC3\\xA9 \\\\ é')).toBe('café \\ é')
  })

  it('converts $time_local offsets to UTC', () => {
    expect(localTime('10/Oct/2023:15:55:36 +0200')).toBe(at)
    expect(localTime('10/Oct/2023:08:25:36 -0530')).toBe(at)
    expect(localTime('10/Foo/2023:13:55:36 +0000')).toBeUndefined()
    expect(localTime('10/Oct/2023:13:55:36')).toBeUndefined()
  })

  it('counts lines that are not requests as malformed, with a reason', () => {
    const cases: [string, string][] = [
      ['garbage', 'not a combined log line'],
      [
        '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "-" 400 0 "-" "-"',
        'no HTTP request line (a scan or a 400)',
      ],
      [
        '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"',
        'no HTTP request line (a scan or a 400)',
      ],
      [
        '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "get /a HTTP/1.1" 200 0 "-" "-"',
        'no HTTP request line (a scan or a 400)',
      ],
      ['1.2.3.4 - - [yesterday] "GET /a HTTP/1.1" 200 0 "-" "-"', 'unreadable [$time_local]'],
    ]
    for (const [text, why] of cases)
      expect(parseLine(text, 'f', 1)).toEqual({ miss: 'malformed', why })
  })
})

describe('parseLine: Bulwark JSON events', () => {
  const event = {
    level: 40,
    time: '2023-10-10T13:55:36.500Z',
    service: 'bulwark',
    event: 'decision',
    requestId: 'r1',
    receivedAt: at,
    method: 'POST',
    path: '/api/login',
    route: '/api/login',
    client: {
      ip: '198.51.100.7',
      ipPrefix: '198.51.100.7',
      ipSource: 'socket',
      ipHop: 0,
      account: 'alice',
      fingerprint: 'fp1',
    },
    action: 'throttle',
    mode: 'enforce',
    status: 429,
    ms: 1,
    reasons: [],
    rules: [],
    msg: 'throttle',
  }

  it('reads access and decision events, with the facets the gateway computed', () => {
    const text = JSON.stringify(event)
    expect(parseLine(text, 'bulwark.log', 9)).toEqual({
      format: 'bulwark',
      time: at,
      ip: '198.51.100.7',
      method: 'POST',
      target: '/api/login',
      status: 429,
      route: '/api/login',
      facets: { account: 'alice', fingerprint: 'fp1' },
      action: 'throttle',
      source: 'bulwark.log',
      lineNo: 9,
      text,
    })
  })

  it("falls back on pino's time (ISO or epoch) without receivedAt", () => {
    const { receivedAt: _, ...rest } = event
    expect(parseLine(JSON.stringify({ ...rest, event: 'access' }), 'f', 1)).toMatchObject({
      time: at + 500,
    })
    expect(parseLine(JSON.stringify({ ...rest, time: at }), 'f', 1)).toMatchObject({ time: at })
  })

  it('skips other events and counts broken ones as malformed', () => {
    expect(parseLine('{"event":"notice","msg":"reloaded"}', 'f', 1)).toEqual({
      miss: 'skip',
      why: 'JSON line that is not a request event',
    })
    expect(parseLine('{"event":"access","method":"GET"', 'f', 1)).toEqual({
      miss: 'malformed',
      why: 'invalid JSON',
    })
    expect(parseLine(JSON.stringify({ ...event, status: 1e9 }), 'f', 1)).toEqual({
      miss: 'malformed',
      why: 'request event without method, path, status (0-999), client.ip or time',
    })
    expect(parseLine(JSON.stringify({ ...event, client: {} }), 'f', 1)).toMatchObject({
      miss: 'malformed',
    })
    expect(
      parseLine(JSON.stringify({ ...event, receivedAt: 'x', time: 'never' }), 'f', 1),
    ).toMatchObject({
      miss: 'malformed',
    })
    expect(parseLine('   ', 'f', 1)).toEqual({ miss: 'skip', why: 'blank line' })
  })
})
