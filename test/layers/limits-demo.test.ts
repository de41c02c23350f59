/**
 * The demo's login limits (examples/shop/bulwark.yaml) in front of the real demo shop, from the
 * side of the people sharing a bot's browser fingerprint: an attacker who copies stock browser
 * headers and fails on purpose must not lock out everyone else who uses that browser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { ConfigSpec } from '../../src/config/schema.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { demoConfig } from '../helpers/engine.js'
import { captureDecisions } from '../proxy/helpers.js'

let shop: Shop
let gw: Gateway

beforeAll(async () => {
  shop = await startShop({ port: 0 })
  const demo = await demoConfig(shop.url)
  const { upstreams, routes, identity, limits } = demo
  gw = await startGateway(
    ConfigSpec.parse({
      // The test client plays many networks through a trusted proxy's X-Forwarded-For.
      server: { ...demo.server, trustedProxies: ['127.0.0.1/32'] },
      upstreams,
      routes,
      identity,
      limits,
    }),
    { port: 0, host: '127.0.0.1' },
  )
})

afterAll(async () => {
  await gw?.close()
  await shop?.close()
})

/** Stock desktop Chrome: the fingerprint a large share of real shoppers have. */
const CHROME = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br, zstd',
}

function login(ip: string, username: string, password: string) {
  return fetch(`${gw.url}/api/login`, {
    method: 'POST',
    headers: { ...CHROME, 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ username, password }),
  })
}

describe('limits: the demo config and people who share a browser fingerprint', () => {
  it('a stuffing run from rotating IPs is seen, and does not lock out the shop', async () => {
    const decisions = captureDecisions()
    try {
      // Twelve failed logins, each account once, each from another network, stock headers.
      for (let i = 0; i < 12; i++) {
        const res = await login(`203.0.113.${i + 1}`, `victim${i}`, 'wrong')
        expect(res.status).toBe(401)
      }
      // The fingerprint-wide failure rule logged what it would have done (monitor mode)…
      const seen = decisions.messages.flatMap((m) =>
        m.decision.verdicts.filter((v) => v.rule === 'limits.failed-logins-per-fingerprint'),
      )
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.every((v) => v.monitor)).toBe(true)
    } finally {
      decisions.stop()
    }
    // …and people with the same browser, on their own networks, still sign in.
    expect((await login('198.51.100.7', 'alice', 'alice-pw')).status).toBe(200)
    expect((await login('198.51.100.8', 'bob', 'bob-pw')).status).toBe(200)
  })

  it('an office of twenty on one IP and one browser build signs in', async () => {
    // `accounts-per-device-network` counts every login per fingerprint and network.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${shop.url}/api/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: `staff${i}`,
          password: `pw-${i}`,
          email: `s${i}@office.test`,
        }),
      })
      expect(res.status).toBe(201)
    }
    const statuses: number[] = []
    for (let i = 0; i < 20; i++)
      statuses.push((await login('192.0.2.50', `staff${i}`, `pw-${i}`)).status)
    expect(statuses).toEqual(Array(20).fill(200))
  })
})
