/**
 * Takes the README's screenshot of the dashboard (docs/dashboard.png): the demo config in
 * front of the shop, under a traffic mix of ordinary shoppers, a credential-stuffing bot, a
 * product sweeper, a brute force on one account, scanners hitting honeypot paths and a
 * scraper caught by a monitor-mode rule. Runs only when asked:
 *
 *   SCREENSHOT=1 npx vitest run test/e2e/screenshot.test.ts
 *
 * Fifteen minutes of chart in ninety seconds: the gateway and the admin share a clock that runs
 * ten times faster than real time (limit windows shrink with it) until it meets the real time.
 */
import { readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { startAdmin, type Admin } from '../../src/admin/admin.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { gwConfig } from '../proxy/helpers.js'
import { buildDashboard, describeBrowser, launchChromium } from './browser.js'

const OUT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
const DEMO = fileURLToPath(new URL('../../examples/shop/bulwark.yaml', import.meta.url))
const REAL_MS = 90_000
const SPEED = 10

const describeShot = process.env.SCREENSHOT ? describeBrowser : describe.skip

describeShot('dashboard screenshot', () => {
  let web: string
  let shop: Shop
  let gw: Gateway
  let admin: Admin
  let t0 = Date.now()
  const clock = {
    now: () => {
      const elapsed = Date.now() - t0
      return elapsed >= REAL_MS ? Date.now() : t0 + REAL_MS - (REAL_MS - elapsed) * SPEED
    },
  }
  let running = true

  beforeAll(async () => {
    ;[web, shop] = await Promise.all([buildDashboard(), startShop()])
    const loaded = parseGatewayConfig(readFileSync(DEMO, 'utf8'), DEMO, { SHOP_URL: shop.url })
    const demo = structuredClone(loaded) as Record<string, any>
    demo.server = { ...demo.server, trustedProxies: ['127.0.0.1/32'] }
    demo.log = { level: 'silent' }
    demo.limits.rules.push({
      id: 'search-scraper',
      paths: ['/api/search'],
      key: ['fingerprint'],
      limit: 20,
      window: '60s',
      mode: 'monitor',
    })
    const config = gwConfig(demo)
    t0 = Date.now()
    gw = await startGateway(config, { port: 0, host: '127.0.0.1', clock })
    admin = await startAdmin({
      config: config.admin,
      gateway: gw,
      port: 0,
      webRoot: web,
      now: clock.now,
    })
  }, 60_000)

  afterAll(async () => {
    await admin?.close()
    await gw?.close()
    await shop?.close()
    if (web) rmSync(web, { recursive: true, force: true })
  })

  const stats: Record<string, number> = {}
  if (process.env.SCREENSHOT_DEBUG)
    setInterval(
      () => console.log(Math.round((Date.now() - t0) / 1000), JSON.stringify(stats)),
      5000,
    ).unref()
  /** One request as `ip` with its own user agent (its device fingerprint). */
  async function send(ip: string, ua: string, path: string, body?: unknown): Promise<number> {
    const res = await fetch(`${gw.url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: {
        'x-forwarded-for': ip,
        'user-agent': ua,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch((err) => {
      if (process.env.SCREENSHOT_DEBUG)
        stats[String(err.cause?.code ?? err.message)] =
          (stats[String(err.cause?.code ?? err.message)] ?? 0) + 1
      return undefined
    })
    if (!res) return 0
    if (process.env.SCREENSHOT_DEBUG) stats[res.status] = (stats[res.status] ?? 0) + 1
    await res.arrayBuffer()
    return res.status
  }

  const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!
  const shoppers = Array.from({ length: 60 }, (_, i) => ({
    ip: `198.51.100.${10 + i}`,
    ua: `Mozilla/5.0 (Macintosh; Intel Mac OS X 14_${i}) AppleWebKit/605.1.15 Safari/17.${i}`,
  }))
  const names = ['emma', 'liam', 'olivia', 'noah', 'ava', 'mia', 'lucas', 'zoe', 'leo', 'ivy']
  const scanners = ['185.220.101.4', '45.155.205.233', '193.142.146.20']

  /** Runs `fn` every `everyMs` while `active(elapsed)` holds, until the traffic stops. */
  async function loop(
    everyMs: number,
    active: (t: number) => boolean,
    fn: (n: number) => Promise<unknown>,
  ) {
    for (let n = 0; running; n++) {
      if (active(Date.now() - t0)) void fn(n)
      // Once the clock runs at real speed, so does the traffic: rates stay what they were.
      const slow = Date.now() - t0 >= REAL_MS ? SPEED : 1
      await new Promise((r) => setTimeout(r, everyMs * slow * (0.5 + Math.random())))
    }
  }

  it('captures the dashboard under a realistic mix', async () => {
    const wave = (t: number) => 0.6 + 0.4 * Math.sin(t / 9_000)
    const traffic = Promise.all([
      // ordinary shoppers, in waves
      loop(
        14,
        () => true,
        async () => {
          if (Math.random() > wave(Date.now() - t0)) return
          const s = pick(shoppers)
          const r = Math.random()
          const path =
            r < 0.6
              ? `/api/products/${1 + Math.floor(Math.random() * 50)}`
              : r < 0.8
                ? '/api/products?page=1'
                : r < 0.9
                  ? `/api/search?q=${pick(['mug', 'lamp', 'oak'])}`
                  : '/api/cart'
          return send(s.ip, s.ua, path)
        },
      ),
      // real users logging in, a few mistyping
      loop(
        400,
        () => true,
        (n) => {
          const u = pick(names)
          return send(pick(shoppers).ip, pick(shoppers).ua, '/api/login', {
            username: u,
            password: n % 4 ? `${u}-pw` : 'oops',
          })
        },
      ),
      // credential stuffing: one device, rotating IPs, many accounts
      loop(
        60,
        (t) => t > 15_000 && t < 42_000,
        (n) =>
          send(`45.83.64.${n % 200}`, 'python-requests/2.31', '/api/login', {
            username: `user${n}`,
            password: 'Summer2024!',
          }),
      ),
      // a product sweep from a headless browser
      loop(
        25,
        (t) => (t > 38_000 && t < 62_000) || t > 84_000,
        (n) =>
          send(
            `104.28.${(n >> 4) % 250}.${n % 250}`,
            'Mozilla/5.0 HeadlessChrome/124.0',
            `/api/products/${1 + (n % 50)}`,
          ),
      ),
      // brute force on one account
      loop(
        150,
        (t) => (t > 58_000 && t < 80_000) || t > 86_000,
        (n) =>
          send(`91.240.118.${n % 50}`, 'curl/8.4.0', '/api/login', {
            username: 'alice',
            password: `guess${n}`,
          }),
      ),
      // scanners probing the demo's honeypots (deception flags them) and the internal echo route
      loop(
        700,
        (t) => t > 10_000,
        (n) =>
          send(
            scanners[n % scanners.length]!,
            `Mozilla/5.0 zgrab/0.${n % scanners.length}`,
            pick(['/.env', '/api/v1/admin/dashboard', '/api/v2/system/config_update', '/__echo/x']),
          ),
      ),
      // a scraper walking the search API, caught by a rule in monitor mode
      loop(
        120,
        (t) => t > 30_000,
        (n) =>
          send(
            '34.102.55.17',
            'Go-http-client/2.0',
            `/api/search?q=${String.fromCharCode(97 + (n % 26))}`,
          ),
      ),
    ])

    const browser = await launchChromium()
    try {
      await new Promise((r) => setTimeout(r, REAL_MS - 2_000 - (Date.now() - t0)))
      const page = await browser.newPage({
        viewport: { width: 1440, height: 1000 },
        deviceScaleFactor: 2,
      })
      await page.goto(admin.url)
      await page.locator('[data-testid="live"].on').waitFor()
      await page.waitForTimeout(6_000)
      await page.screenshot({ path: OUT, animations: 'disabled', timeout: 90_000 })
      if (process.env.SCREENSHOT_DEBUG) {
        const sum = (await (await fetch(`${admin.url}/api/summary`)).json()) as {
          now: number
          series: [number, number[]][]
        }
        console.log(
          'now',
          new Date(sum.now).toISOString(),
          'last buckets',
          JSON.stringify(
            sum.series
              .slice(-12)
              .map(([t, c]) => [
                new Date(t).toISOString().slice(11, 19),
                c.reduce((a, b) => a + b, 0),
              ]),
          ),
        )
        const ev = (await (await fetch(`${admin.url}/api/events?limit=3`)).json()) as {
          events: { receivedAt: number }[]
        }
        console.log(
          'latest events',
          ev.events.map((e) => new Date(e.receivedAt).toISOString()),
        )
      }
      expect(await page.locator('tr.row').count()).toBeGreaterThan(10)
    } finally {
      running = false
      await browser.close()
    }
    await traffic
  }, 180_000)
})
