/**
 * The gateway's own answers to a page on an allowed origin carry the CORS headers the `cors`
 * layer chose, so the page can read why it was refused (a 429's Retry-After, a puzzle); a page
 * on another origin gets none.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { startGw, startUpstream, type Upstream } from './helpers.js'

let upstream: Upstream
let gw: Gateway

beforeAll(async () => {
  upstream = await startUpstream()
  gw = await startGw({
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
    cors: { rules: [{ paths: ['/api/*'], origins: ['https://app.example'] }] },
    limits: { rules: [{ id: 'one', paths: ['/api/*'], key: ['ip'], limit: 1, window: '1m' }] },
  })
})

afterAll(async () => {
  await gw.close()
  await upstream.close()
})

it("a limit's 429 carries the CORS headers of an allowed origin, not of another", async () => {
  const get = (origin: string) => fetch(`${gw.url}/api/x`, { headers: { origin } })
  expect((await get('https://app.example')).status).toBe(200)
  const refused = await get('https://app.example')
  expect(refused.status).toBe(429)
  expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.example')
  expect(refused.headers.get('retry-after')).not.toBeNull()
  const other = await get('https://evil.example')
  expect(other.headers.get('access-control-allow-origin')).toBeNull()
})
