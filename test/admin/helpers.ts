/**
 * A gateway, its admin listener and a recording upstream on port 0, and small clients for the
 * admin API. Each test file starts its own and stops it in `afterAll`.
 */
import { startAdmin, type Admin, type AdminOptions } from '../../src/admin/admin.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { gwConfig, startUpstream, type Upstream } from '../proxy/helpers.js'

export interface Stack {
  readonly gw: Gateway
  readonly admin: Admin
  readonly upstream: Upstream
  /** `fetch` on the admin listener, with the bearer token when `token` is given. */
  api(path: string, init?: RequestInit & { token?: string }): Promise<Response>
  /** `fetch` through the gateway, as client `ip` (sent as X-Forwarded-For from a trusted proxy). */
  send(path: string, init?: RequestInit & { ip?: string }): Promise<Response>
  close(): Promise<void>
}

export async function startStack(
  extra: Record<string, unknown> = {},
  adminOpts: Partial<AdminOptions> = {},
): Promise<Stack> {
  const upstream = await startUpstream()
  const config = gwConfig({
    server: { trustedProxies: ['127.0.0.1/32'] },
    upstreams: { app: { url: upstream.url } },
    routes: [
      { path: '/api/*', upstream: 'app' },
      { path: '/api/products/:id', upstream: 'app' },
    ],
    ...extra,
  })
  const gw = await startGateway(config, { port: 0, host: '127.0.0.1' })
  const admin = await startAdmin({
    config: config.admin,
    gateway: gw,
    port: 0,
    processMetrics: false,
    ...adminOpts,
  })
  return {
    gw,
    admin,
    upstream,
    api(path, init = {}) {
      const { token, ...rest } = init
      const headers = new Headers(rest.headers)
      if (token) headers.set('authorization', `Bearer ${token}`)
      return fetch(`${admin.url}${path}`, { ...rest, headers })
    },
    send(path, init = {}) {
      const { ip, ...rest } = init
      const headers = new Headers(rest.headers)
      if (ip) headers.set('x-forwarded-for', ip)
      return fetch(`${gw.url}${path}`, { ...rest, headers })
    },
    async close() {
      await admin.close()
      await gw.close()
      await upstream.close()
    },
  }
}

/** Waits until `check` returns a value other than undefined (or fails after `ms`). */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 3_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}
