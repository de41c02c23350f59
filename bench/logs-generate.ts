/**
 * Writes a synthetic access log for the audit/replay benchmark and tests: a shop API's
 * traffic (products by id, orders by hex id, users by UUID, logins, checkout, health) from a
 * skewed population of client IPs, with scanner noise and a sprinkle of malformed lines, in
 * nginx `combined` or Bulwark's JSON event format. Deterministic for a given seed.
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'

/** What to generate. */
export interface GenerateOptions {
  readonly lines: number
  readonly format?: 'nginx' | 'bulwark'
  /** Distinct client IPs (default 5000). */
  readonly identities?: number
  /** Distinct login accounts (default 2000). */
  readonly accounts?: number
  /** Epoch ms of the first line (default 2024-05-01T12:00:00Z). */
  readonly start?: number
  /** Time the log spans (default 1 h). */
  readonly spanMs?: number
  /** Share of malformed lines (default 0.001). */
  readonly malformed?: number
  readonly seed?: number
}

/** What was written. */
export interface GenerateResult {
  readonly file: string
  readonly lines: number
  readonly bytes: number
}

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  'python-requests/2.31.0',
  'curl/8.5.0',
]
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

interface Hit {
  readonly method: string
  readonly path: string
  readonly route: string
  readonly status: number
  readonly account?: string
}

/**
 * @example await generateLog('/tmp/access.log', { lines: 1_000_000 })
 */
export async function generateLog(file: string, opts: GenerateOptions): Promise<GenerateResult> {
  const rnd = prng(opts.seed ?? 7)
  const format = opts.format ?? 'nginx'
  const nIps = opts.identities ?? 5000
  const nAccounts = opts.accounts ?? 2000
  const start = opts.start ?? Date.UTC(2024, 4, 1, 12)
  const span = opts.spanMs ?? 3_600_000
  const bad = opts.malformed ?? 0.001
  const out = createWriteStream(file, { highWaterMark: 1 << 20 })
  let bytes = 0
  let buf = ''
  const int = (n: number) => Math.floor(rnd() * n)
  // Skewed: a few IPs send much of the traffic (squared uniform → more mass near 0).
  const ip = () => {
    const i = Math.floor(rnd() * rnd() * nIps)
    return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
  }
  const hex = (n: number) => {
    let s = ''
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)]
    return s
  }
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`

  function hit(): Hit {
    const r = rnd()
    if (r < 0.45) {
      const id = int(5000)
      return {
        method: 'GET',
        path: `/api/products/${id}`,
        route: '/api/products/:id',
        status: id < 4900 ? 200 : 404,
      }
    }
    if (r < 0.6)
      return { method: 'GET', path: `/api/products?page=${int(20)}`, route: '/api/*', status: 200 }
    if (r < 0.7)
      return { method: 'GET', path: `/api/orders/${hex(24)}`, route: '/api/*', status: 200 }
    if (r < 0.75)
      return { method: 'GET', path: `/api/users/${uuid()}`, route: '/api/*', status: 200 }
    if (r < 0.85) {
      const account = `user${Math.floor(rnd() * rnd() * nAccounts)}`
      return {
        method: 'POST',
        path: '/api/login',
        route: '/api/login',
        status: rnd() < 0.3 ? 401 : 200,
        account,
      }
    }
    if (r < 0.9)
      return {
        method: 'POST',
        path: '/api/checkout',
        route: '/api/checkout',
        status: rnd() < 0.05 ? 422 : 201,
      }
    if (r < 0.97) return { method: 'GET', path: '/health', route: '/health', status: 200 }
    const scans = ['/wp-login.php', '/.env', '/admin/config.php', '/phpmyadmin/', '/.git/config']
    return { method: 'GET', path: scans[int(scans.length)]!, route: '*', status: 404 }
  }

  function nginxTime(ms: number): string {
    const d = new Date(ms)
    const p = (n: number) => String(n).padStart(2, '0')
    return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  }

  for (let n = 0; n < opts.lines; n++) {
    const t = start + Math.floor((n / opts.lines) * span)
    let line: string
    if (rnd() < bad)
      line = n % 2 ? '{"event":"access","truncated' : 'garbage line without a request'
    else {
      const h = hit()
      const client = ip()
      const uaIndex = int(UAS.length)
      const ua = UAS[uaIndex]!
      if (format === 'nginx') {
        line = `${client} - - [${nginxTime(t)}] "${h.method} ${h.path} HTTP/1.1" ${h.status} ${200 + int(4000)} "-" "${ua}"`
      } else {
        const path = h.path.split('?')[0]!
        line = JSON.stringify({
          level: 30,
          time: new Date(t).toISOString(),
          service: 'bulwark',
          event: 'access',
          requestId: `r${n}`,
          receivedAt: t,
          method: h.method,
          path,
          route: h.route,
          client: {
            ip: client,
            ipPrefix: client,
            ipSource: 'socket',
            ipHop: 0,
            ...(h.account ? { account: h.account } : {}),
            // What the gateway would have computed from the client's headers.
            fingerprint: `fp${uaIndex}${client.split('.').at(-1)}`,
          },
          action: 'allow',
          mode: 'enforce',
          status: h.status,
          ms: 1 + int(40),
          reasons: [],
          rules: [],
          msg: 'access',
        })
      }
    }
    buf += line + '\n'
    if (buf.length > 1 << 16) {
      bytes += Buffer.byteLength(buf)
      if (!out.write(buf)) await once(out, 'drain')
      buf = ''
    }
  }
  bytes += Buffer.byteLength(buf)
  out.end(buf)
  await once(out, 'finish')
  return { file, lines: opts.lines, bytes }
}
