/**
 * Reads one line of nginx's (and Apache's) `combined` log format:
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`.
 * Fields appended after the user agent (`"$http_x_forwarded_for"`, `$request_time`) are ignored.
 * Called by `parseLine`.
 * @see https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format
 */
import type { LineMiss, LogRecord } from './record.js'

// A quoted field may hold `\"` (Apache) or `\x22` (nginx) but no bare quote.
const COMBINED =
  /^(\S+) [^[]*\[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (?:\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?/
const METHOD = /^[A-Z][A-Z0-9_-]*$/

const NOT_COMBINED: LineMiss = { miss: 'malformed', why: 'not a combined log line' }
const BAD_TIME: LineMiss = { miss: 'malformed', why: 'unreadable [$time_local]' }
const BAD_REQUEST: LineMiss = { miss: 'malformed', why: 'no HTTP request line (a scan or a 400)' }

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
}

/**
 * @example
 * parseNginxLine('203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8"', 'access.log', 1)
 * // { format: 'nginx', ip: '203.0.113.9', method: 'GET', target: '/a', status: 200, userAgent: 'curl/8', … }
 */
export function parseNginxLine(text: string, source: string, lineNo: number): LogRecord | LineMiss {
  const m = COMBINED.exec(text)
  if (m === null) return NOT_COMBINED
  const time = localTime(m[2]!)
  if (time === undefined) return BAD_TIME
  const request = m[3]!
  const sp1 = request.indexOf(' ')
  if (sp1 < 0) return BAD_REQUEST
  const method = request.slice(0, sp1)
  const sp2 = request.indexOf(' ', sp1 + 1)
  let target = unescapeLog(sp2 < 0 ? request.slice(sp1 + 1) : request.slice(sp1 + 1, sp2))
  if (!METHOD.test(method)) return BAD_REQUEST
  if (target.charCodeAt(0) !== 47 /* / */) {
    // Absolute-form (`GET http://host/path`): the path is what routes see.
    const scheme = /^https?:\/\/[^/?#]*/i.exec(target)
    if (scheme === null) return BAD_REQUEST
    target = target.slice(scheme[0].length) || '/'
    if (target.charCodeAt(0) !== 47) target = '/' + target
  }
  const referer = m[5] === undefined || m[5] === '-' ? undefined : unescapeLog(m[5])
  const userAgent = m[6] === undefined || m[6] === '-' ? undefined : unescapeLog(m[6])
  let headers: Record<string, string> | undefined
  if (userAgent !== undefined) headers = { 'user-agent': userAgent }
  if (referer !== undefined) (headers ??= {}).referer = referer
  // One object shape for every record (absent fields undefined) keeps the consumers monomorphic.
  return {
    format: 'nginx',
    time,
    ip: m[1]!,
    method,
    target,
    status: Number(m[4]),
    userAgent,
    headers,
    route: undefined,
    facets: undefined,
    action: undefined,
    source,
    lineNo,
    text,
  }
}

let lastTime = ''
let lastMs = 0

/** `10/Oct/2023:13:55:36 +0200` → epoch ms; undefined when malformed. One entry cache: logs repeat a second. */
export function localTime(s: string): number | undefined {
  if (s === lastTime) return lastMs
  if (s.length !== 26 || s[2] !== '/' || s[6] !== '/' || s[11] !== ':' || s[20] !== ' ')
    return undefined
  const month = MONTHS[s.slice(3, 6)]
  const day = num(s, 0, 2)
  const year = num(s, 7, 11)
  const h = num(s, 12, 14)
  const min = num(s, 15, 17)
  const sec = num(s, 18, 20)
  const zh = num(s, 22, 24)
  const zm = num(s, 24, 26)
  const sign = s[21] === '-' ? -1 : s[21] === '+' ? 1 : 0
  if (month === undefined || sign === 0 || [day, year, h, min, sec, zh, zm].some((n) => n < 0))
    return undefined
  // $time_local is local time at the given offset: UTC = local - offset.
  const ms = Date.UTC(year, month, day, h, min, sec) - sign * (zh * 60 + zm) * 60_000
  lastTime = s
  lastMs = ms
  return ms
}

function num(s: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/**
 * Undoes the log's escaping: nginx writes `"`, `\` and bytes outside printable ASCII as `\xHH`
 * (UTF-8 bytes one by one); Apache writes `\"` and `\\`. Bytes are read back as UTF-8.
 */
export function unescapeLog(s: string): string {
  if (!s.includes('\\')) return s
  let bytes = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '\\' || i + 1 >= s.length) {
      const cp = s.codePointAt(i)!
      if (cp < 0x80) bytes += c
      else {
        // Already text (an unescaped log): re-encode it so the final UTF-8 read gives it back.
        const ch = String.fromCodePoint(cp)
        bytes += Buffer.from(ch, 'utf8').toString('latin1')
        i += ch.length - 1
      }
      continue
    }
    const next = s[i + 1]!
    if (next === 'x' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16))
      i += 3
    } else if (next === '"' || next === '\\') {
      bytes += next
      i++
    } else bytes += c
  }
  return Buffer.from(bytes, 'latin1').toString('utf8')
}
