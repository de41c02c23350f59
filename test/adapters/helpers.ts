/**
 * Shared pieces of the adapter tests: one policy, a tiny app contract every framework's test
 * app follows, an HTTP client that sends targets exactly as written, and a collector for
 * `bulwark:decision` messages.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DecisionMessage } from '../../src/telemetry/channels.js'

/**
 * The policy the adapter tests run: 2 logins per account per minute, 2 failed logins per IP,
 * 1 order per account (the account comes from the app: `identify`), admin only from 10/8.
 * Clients are told apart by X-Forwarded-For (the tests connect from 127.0.0.1, a trusted proxy).
 */
export const POLICY = {
  server: { trustedProxies: ['127.0.0.1', '::1'], maxBodySize: '1kb' },
  routes: [{ path: '/*' }],
  identity: { account: [{ body: 'username', paths: ['/login'] }] },
  access: {
    rules: [{ id: 'admin-office', paths: ['/admin/*'], notFrom: ['10.0.0.0/8'], status: 404 }],
  },
  limits: {
    rules: [
      {
        id: 'login-per-account',
        paths: ['/login'],
        methods: ['POST'],
        key: ['account'],
        limit: 2,
        window: '60s',
      },
      {
        id: 'failed-logins',
        paths: ['/login'],
        methods: ['POST'],
        key: ['ip'],
        count: 'outcomes',
        outcomes: [401],
        limit: 2,
        window: '60s',
      },
      { id: 'orders-per-account', paths: ['/orders'], key: ['account'], limit: 1, window: '60s' },
    ],
  },
}

/** {@link POLICY} plus a rule that reads the body of `POST /echo` (to test that apps still can). */
export const ECHO_POLICY = {
  ...POLICY,
  identity: { account: [{ body: 'username', paths: ['/login', '/echo'] }] },
  limits: {
    rules: [
      ...POLICY.limits.rules,
      { id: 'echo', paths: ['/echo'], key: ['account'], limit: 100, window: '60s' },
    ],
  },
}

/**
 * What every test app answers: `POST /login` 200 for `alice`/`alice-pw` else 401;
 * `POST /echo` the body as the app's own parser read it; anything else 200 `{ path }`.
 */
export function appAnswer(
  method: string,
  path: string,
  body: unknown,
): { status: number; json: unknown } {
  if (method === 'POST' && path === '/login') {
    const b = (body ?? {}) as { username?: unknown; password?: unknown }
    const ok = b.username === 'alice' && b.password === 'alice-pw'
    return ok ? { status: 200, json: { user: 'alice' } } : { status: 401, json: { error: 'no' } }
  }
  if (method === 'POST' && path === '/echo') return { status: 200, json: { body } }
  return { status: 200, json: { path } }
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

export interface SendInit {
  readonly method?: string
  readonly headers?: Record<string, string>
  /** Sent as JSON with its content type. */
  readonly json?: unknown
  /** Sent as is. */
  readonly body?: string | Buffer
  /** The client IP, as X-Forwarded-For from the trusted 127.0.0.1. */
  readonly from?: string
  /** Send the body chunked, in these pieces, 5 ms apart. */
  readonly chunks?: readonly string[]
}

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
  json(): unknown
}

/** Sends one request on a fresh connection; the target goes out exactly as written. */
export function send(base: string, target: string, init: SendInit = {}): Promise<Reply> {
  const u = new URL(base)
  const headers: Record<string, string> = { ...init.headers }
  let body: string | Buffer | undefined = init.body
  if (init.json !== undefined) {
    body = JSON.stringify(init.json)
    headers['content-type'] ??= 'application/json'
  }
  if (init.from) headers['x-forwarded-for'] = init.from
  if (body !== undefined && !init.chunks)
    headers['content-length'] = String(Buffer.byteLength(body))
  if (init.chunks) headers['transfer-encoding'] = 'chunked'
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: init.method ?? (body !== undefined || init.chunks ? 'POST' : 'GET'),
        path: target,
        headers,
        agent: false,
      },
      (res) => {
        const parts: Buffer[] = []
        res.on('data', (c: Buffer) => parts.push(c))
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8')
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as unknown,
          })
        })
      },
    )
    req.on('error', reject)
    if (init.chunks) {
      let i = 0
      const next = () => {
        if (i === init.chunks!.length) return void req.end()
        req.write(init.chunks![i++])
        setTimeout(next, 5)
      }
      next()
    } else req.end(body)
  })
}

/** Collects `bulwark:decision` messages until `stop()`. */
export function decisions() {
  const messages: DecisionMessage[] = []
  const on = (m: unknown) => void messages.push(m as DecisionMessage)
  diagnostics_channel.subscribe('bulwark:decision', on)
  return {
    messages,
    /** The last message's rule and outcome status, for one-line assertions. */
    last: () => {
      const m = messages.at(-1)
      return m && { rule: m.decision.decisive?.rule, status: m.outcome.status }
    },
    stop: () => diagnostics_channel.unsubscribe('bulwark:decision', on),
  }
}

/** Resolves once `check()` holds (observation happens as the response head goes out). */
export async function eventually(check: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** `n` logins for `username` from rotating IPs; resolves the statuses. */
export async function logins(
  base: string,
  n: number,
  username: string,
  password = 'wrong',
  path = '/login',
): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++)
    out.push(
      (await send(base, path, { json: { username, password }, from: `198.51.100.${i + 1}` }))
        .status,
    )
  return out
}
