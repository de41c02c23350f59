/**
 * The little API every embedded example serves, so each example file shows only how Bulwark
 * plugs into its framework: users, sessions (bearer tokens), products and orders, in memory.
 *
 * Owns: the in-memory data and the answers. Called by examples/embedded/*.ts.
 * @see ../../docs/embedded.md#examples
 */
import { randomBytes } from 'node:crypto'
import diagnostics_channel from 'node:diagnostics_channel'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { DecisionMessage } from '../../src/index.js'

/** An answer in framework-neutral form: each example sends it its own way. */
export interface Reply {
  readonly status: number
  readonly json: unknown
}

const PASSWORDS = new Map([
  ['alice', 'alice-pw'],
  ['bob', 'bob-pw'],
])
const SESSIONS = new Map<string, string>()
const MAX_SESSIONS = 10_000

/** `POST /api/login` with `{ username, password }`: a bearer token, or 401. */
export function login(body: unknown): Reply {
  const { username, password } = (body ?? {}) as Record<string, unknown>
  if (typeof username !== 'string' || typeof password !== 'string')
    return { status: 400, json: { error: 'username and password are required' } }
  const user = username.trim().toLowerCase()
  if (PASSWORDS.get(user) !== password)
    return { status: 401, json: { error: 'invalid credentials' } }
  if (SESSIONS.size >= MAX_SESSIONS) SESSIONS.delete(SESSIONS.keys().next().value!)
  const token = randomBytes(16).toString('base64url')
  SESSIONS.set(token, user)
  return { status: 200, json: { token } }
}

/** The user a request's `Authorization: Bearer …` names, if any: the app's own authentication. */
export function userOf(authorization: string | undefined): string | undefined {
  const m = /^Bearer (\S+)$/.exec(authorization ?? '')
  return m ? SESSIONS.get(m[1]!) : undefined
}

/** `GET /api/products/:id`. */
export function product(id: string): Reply {
  const n = Number(id)
  return Number.isInteger(n) && n >= 1 && n <= 50
    ? { status: 200, json: { id: n, name: `Product ${n}`, price: 499 + n * 100 } }
    : { status: 404, json: { error: 'product not found' } }
}

/** `POST /api/orders`, for a signed-in user. */
export function order(user: string | undefined): Reply {
  return user
    ? { status: 201, json: { orderId: randomBytes(4).toString('hex'), user } }
    : { status: 401, json: { error: 'sign in first' } }
}

/**
 * The config file: `BULWARK_CONFIG`, else `bulwark.yaml` beside the source (this file is run
 * as `dist/examples/embedded/*.js`, the YAML stays in `examples/embedded/`).
 */
export function configFile(): string {
  if (process.env.BULWARK_CONFIG) return process.env.BULWARK_CONFIG
  const beside = fileURLToPath(new URL('bulwark.yaml', import.meta.url))
  if (existsSync(beside)) return beside
  return fileURLToPath(new URL('../../../examples/embedded/bulwark.yaml', import.meta.url))
}

/** `--port N` (default 3000, or `PORT`). */
export function portArg(): number {
  const { values } = parseArgs({ options: { port: { type: 'string', short: 'p' } }, strict: false })
  const raw = String(values.port ?? process.env.PORT ?? '3000')
  const port = Number(raw)
  if (!/^\d+$/.test(raw) || port > 65535)
    throw new TypeError(`--port: expected 0..65535, got ${raw}`)
  return port
}

/** Runs `stop` once on SIGINT or SIGTERM, then lets the process end. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`${signal}: closing\n`)
    stop().then(
      () => (process.exitCode = 0),
      (err: unknown) => {
        process.stderr.write(`close failed: ${String(err)}\n`)
        process.exitCode = 1
      },
    )
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
}

/** True when `moduleUrl` is the script node was started with (not imported by a test). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1]
}

/**
 * Prints one line per decision other than a plain allow, from the `bulwark:decision` channel
 * (the proxy's pino log subscribes to the same channel).
 */
export function logDecisions(): void {
  diagnostics_channel.subscribe('bulwark:decision', (m) => {
    const { ctx, decision, outcome } = m as DecisionMessage
    if (decision.action === 'allow' && !decision.wouldHave) return
    const why = decision.verdicts.map((v) => `${v.rule}: ${v.reason}`).join('; ')
    process.stdout.write(
      `${decision.wouldHave ? `would have ${decision.wouldHave}` : decision.action} ${outcome.status} ${ctx.method} ${ctx.path} ${ctx.identity.ip} — ${why}\n`,
    )
  })
}
