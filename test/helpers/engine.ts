/**
 * Test helpers: a config from a plain object, and a RawRequest without sockets, so the engine
 * is tested the way hono's `app.request()` tests an app.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RawRequest } from '../../src/engine/context.js'
import type { Engine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { loadGatewayConfig } from '../../src/config/gateway-config.js'
import { ConfigSpec, type Config } from '../../src/config/schema.js'

export function config(obj: Record<string, unknown>): Config {
  return ConfigSpec.parse(obj)
}

export interface RawInit {
  readonly headers?: Record<string, string>
  readonly ip?: string
  readonly json?: unknown
  readonly body?: string
}

/** `raw('POST /api/login', { json: { user: 'bob' } })` */
export function raw(line: string, init: RawInit = {}): RawRequest {
  const [method, url] = line.split(' ') as [string, string]
  const body =
    init.json !== undefined
      ? Buffer.from(JSON.stringify(init.json))
      : init.body !== undefined
        ? Buffer.from(init.body)
        : undefined
  const headers: IncomingHttpHeaders = { host: 'gw.test' }
  if (init.json !== undefined) headers['content-type'] = 'application/json'
  if (body) headers['content-length'] = String(body.length)
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v
  const rawHeaders = Object.entries(headers).flatMap(([k, v]) => [k, String(v)])
  return {
    method,
    url,
    headers,
    rawHeaders,
    remoteAddress: init.ip ?? '127.0.0.1',
    readBody: async (cap) => (body && body.length > cap ? null : (body ?? Buffer.alloc(0))),
  }
}

/**
 * Sends one request through `engine` the way the proxy does — prepare, inspect, then observe an
 * upstream answer of `status` — and returns the decision (a framing refusal as one).
 * @example const send = sender(engine); await send('POST /api/login', { json: { username: 'a' } })
 */
export function sender(engine: Engine) {
  return async (line: string, init: RawInit = {}, status = 200): Promise<Decision> => {
    const { ctx, refusal } = engine.prepare(raw(line, init))
    if (refusal) return { action: refusal.action, verdicts: [refusal], decisive: refusal }
    const d = await engine.inspect(ctx)
    engine.observe(ctx, { status, ms: 1, byGateway: false }, d)
    return d
  }
}

/** An `auth.issuers[]` entry with a test HS256 secret, for tests that need an auth layer but no token. */
export const HS_ISSUER = Object.freeze({
  issuer: 'https://id.example',
  audience: ['api'],
  secret: 's'.repeat(32),
  algorithms: ['HS256'],
})

/** The demo's config (examples/shop/bulwark.yaml) with its upstream pointed at `shopUrl`. */
export function demoConfig(shopUrl: string): Promise<Config> {
  return loadGatewayConfig(new URL('../../examples/shop/bulwark.yaml', import.meta.url).pathname, {
    SHOP_URL: shopUrl,
  })
}
