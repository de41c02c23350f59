/**
 * The demo's `deception:` block (examples/shop/bulwark.yaml), through the engine: its three
 * honeypots, the hidden signup field, the trap header and the canary key planted in the fake
 * `.env`. Only the blocks this test is about; the demo's other layers have their own tests.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { ConfigSpec, type Config } from '../../src/config/schema.js'
import { createEngine, type Engine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { demoConfig, raw, type RawInit } from '../helpers/engine.js'

let demo: Config
let n = 0

beforeAll(async () => {
  demo = await demoConfig('http://127.0.0.1:9')
})

function engine(): Engine {
  const { server, upstreams, routes, identity, deception } = demo
  return createEngine(ConfigSpec.parse({ server, upstreams, routes, identity, deception }), {
    store: new MemoryStore(),
  })
}

/** A new client each time unless `ip` is given. */
async function send(e: Engine, line: string, init: RawInit = {}): Promise<Decision> {
  n++
  const { ctx } = e.prepare(
    raw(line, {
      ip: `198.51.100.${n % 250}`,
      ...init,
      headers: { 'user-agent': `ua-${n}`, ...init.headers },
    }),
  )
  return e.inspect(ctx)
}

describe('deception: the demo config', () => {
  it('answers its honeypots with fakes after a delay', async () => {
    const e = engine()
    const admin = (await send(e, 'GET /api/v1/admin/dashboard')).decisive!
    expect(admin).toMatchObject({
      action: 'deceive',
      rule: 'deception.admin-dashboard',
      status: 200,
    })
    expect(admin.body).toContain('<title>Admin Console · Sign in</title>')
    expect(admin.delayMs).toBeGreaterThanOrEqual(1_000)

    const cfg = (await send(e, 'POST /API/V2/System/Config_Update/')).decisive!
    expect(JSON.parse(cfg.body!).message).toBe('Configuration update initiated')
    expect(cfg.delayMs).toBeGreaterThanOrEqual(2_000)
    expect(cfg.delayMs).toBeLessThanOrEqual(5_000)

    const env = (await send(e, 'GET /%2eenv')).decisive!
    expect(env).toMatchObject({ rule: 'deception.env', delayMs: 1_500 })
    expect(env.body).toMatch(/^STRIPE_SECRET=sk_live_shop_[A-Za-z0-9]{24}$/m)
  })

  it('catches a bot that fills the hidden signup field, or sends the trap header', async () => {
    const e = engine()
    const bot = await send(e, 'POST /api/signup', {
      json: { username: 'bot', password: 'pw-123456', email: 'b@x.test', website: 'http://x' },
    })
    expect(bot.decisive).toMatchObject({ action: 'deceive', rule: 'deception.field.website' })
    const person = await send(e, 'POST /api/signup', {
      json: { username: 'amy', password: 'pw-123456', email: 'a@x.test', website: '' },
    })
    expect(person.action).toBe('allow')
    const debug = await send(e, 'GET /api/products', { headers: { 'x-debug-mode': 'on' } })
    expect(debug.decisive?.rule).toBe('deception.header.x-debug-mode')
  })

  it('recognises the canary key from the fake .env anywhere later, and chaos follows', async () => {
    const e = engine()
    const env = (await send(e, 'GET /.env')).decisive!.body!
    const key = /^STRIPE_SECRET=(.*)$/m.exec(env)![1]!
    const use = await send(e, 'GET /api/cart', {
      ip: '203.0.113.77',
      headers: { authorization: `Bearer ${key}`, 'user-agent': 'bot/1' },
    })
    expect(use.decisive).toMatchObject({ rule: 'deception.canary.api-key', status: 401 })
    // the same device on the same network: chaos
    const after = await send(e, 'GET /api/products/1', {
      ip: '203.0.113.77',
      headers: { 'user-agent': 'bot/1' },
    })
    expect(after.decisive?.rule).toBe('deception.chaos')
    expect(
      (await send(e, 'GET /health', { ip: '203.0.113.77', headers: { 'user-agent': 'bot/1' } }))
        .action,
    ).toBe('allow')
    // someone else on that network (another browser) is left alone
    expect((await send(e, 'GET /api/products/1', { ip: '203.0.113.77' })).action).toBe('allow')
  })
})
