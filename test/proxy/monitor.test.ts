/**
 * Monitor mode through the proxy: the request reaches the upstream, and the decision published
 * on `bulwark:decision` says what would have happened.
 */
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { captureDecisions, startGw, startUpstream, type Upstream } from './helpers.js'

let upstream: Upstream
let globalMonitor: Gateway
let ruleMonitor: Gateway
const decisions = captureDecisions()

beforeAll(async () => {
  upstream = await startUpstream()
  const base = {
    upstreams: { up: { url: upstream.url } },
    routes: [{ path: '/*', upstream: 'up' }],
  }
  globalMonitor = await startGw({
    ...base,
    mode: 'monitor',
    access: { rules: [{ id: 'no-admin', paths: ['/admin/*'], action: 'block' }] },
  })
  ruleMonitor = await startGw({
    ...base,
    access: {
      rules: [
        { id: 'watch-admin', paths: ['/admin/*'], action: 'block', mode: 'monitor' },
        { id: 'no-internal', paths: ['/internal/*'], action: 'block' },
      ],
    },
  })
})

afterAll(async () => {
  decisions.stop()
  await Promise.all([globalMonitor.close(), ruleMonitor.close()])
  await upstream.close()
})

async function get(gw: Gateway, path: string) {
  const before = upstream.received.length
  const res = await request(`${gw.url}${path}`)
  const body = await res.body.text()
  const id = res.headers['x-request-id'] as string
  await expect.poll(() => decisions.byId(id)).toBeDefined()
  return {
    status: res.statusCode,
    body,
    reached: upstream.received.slice(before).map((r) => r.url),
    message: decisions.byId(id)!,
  }
}

describe('proxy: monitor mode', () => {
  it('global mode: monitor lets a blocked request through and reports wouldHave block', async () => {
    const r = await get(globalMonitor, '/admin/users')
    expect(r.status).toBe(200)
    expect(r.reached).toEqual(['/admin/users'])
    expect(r.message.decision).toMatchObject({ action: 'allow', wouldHave: 'block' })
    expect(r.message.decision.verdicts).toMatchObject([
      { rule: 'access.no-admin', action: 'block', monitor: true },
    ])
    expect(r.message.outcome).toMatchObject({ status: 200, byGateway: false })
  })

  it('a rule in mode: monitor lets its request through and reports wouldHave block', async () => {
    const r = await get(ruleMonitor, '/admin/users')
    expect(r.status).toBe(200)
    expect(r.reached).toEqual(['/admin/users'])
    expect(r.message.decision).toMatchObject({ action: 'allow', wouldHave: 'block' })
    expect(r.message.decision.verdicts).toMatchObject([
      { rule: 'access.watch-admin', action: 'block', monitor: true },
    ])
  })

  it('the enforced rule beside it still blocks, and nothing reaches the upstream', async () => {
    const r = await get(ruleMonitor, '/internal/x')
    expect(r.status).toBe(403)
    expect(r.reached).toEqual([])
    expect(JSON.parse(r.body)).toMatchObject({ error: 'Forbidden', status: 403 })
    expect(r.message.decision).toMatchObject({ action: 'block' })
    expect(r.message.decision.wouldHave).toBeUndefined()
    expect(r.message.outcome).toMatchObject({ status: 403, byGateway: true })
  })
})
