/**
 * The dashboard end to end, in real headless Chromium: the demo shop behind a gateway with a
 * rate limit, the admin listener with a token, the dashboard built by Vite. The page signs in
 * and loads; a request the gateway refuses appears in the live feed; unblocking from the page
 * lets that client through again.
 */
import { rmSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { startAdmin, type Admin } from '../../src/admin/admin.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { gwConfig } from '../proxy/helpers.js'
import { buildDashboard, describeBrowser, launchChromium } from './browser.js'

const TOKEN = 'e2e-admin-token-0123456789'
const CLIENT = '203.0.113.77'

describeBrowser('dashboard (headless Chromium)', () => {
  let web: string
  let shop: Shop
  let gw: Gateway
  let admin: Admin
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    ;[web, shop, browser] = await Promise.all([buildDashboard(), startShop(), launchChromium()])
    const config = gwConfig({
      // The test client's requests arrive from 127.0.0.1 as a proxy naming CLIENT.
      server: { trustedProxies: ['127.0.0.1/32'] },
      upstreams: { shop: { url: shop.url } },
      routes: [
        { path: '/api/*', upstream: 'shop' },
        { path: '/api/products/:id', upstream: 'shop' },
      ],
      limits: {
        rules: [
          {
            id: 'products-per-ip',
            paths: ['/api/products/:id'],
            key: ['ip'],
            limit: 3,
            window: '10m',
          },
        ],
      },
      admin: { token: TOKEN },
    })
    gw = await startGateway(config, { port: 0, host: '127.0.0.1' })
    admin = await startAdmin({ config: config.admin, gateway: gw, port: 0, webRoot: web })
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    page.on('pageerror', (err) => pageErrors.push(String(err)))
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()))
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await admin?.close()
    await gw?.close()
    await shop?.close()
    if (web) rmSync(web, { recursive: true, force: true })
  })

  /** A product request through the gateway, as CLIENT. */
  async function product(id: number): Promise<number> {
    const res = await fetch(`${gw.url}/api/products/${id}`, {
      headers: { 'x-forwarded-for': CLIENT },
    })
    await res.arrayBuffer()
    return res.status
  }

  it('signs in with the admin token and loads the dashboard', async () => {
    await page.goto(admin.url)
    await page.getByTestId('token').fill(TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('feed').waitFor()
    await page.locator('[data-testid="live"].on').waitFor()
    await page.getByText('Traffic by action').waitFor()
    await page.locator('svg.chart').waitFor()
    expect(await page.getByTestId('card-blocked').isVisible()).toBe(true)
  })

  it('shows a request the gateway refused in the live feed, as it happens', async () => {
    expect([await product(1), await product(2), await product(3)]).toEqual([200, 200, 200])
    expect(await product(4)).toBe(429)
    const row = page.locator('tr.row[data-action="throttle"]').first()
    await row.waitFor({ timeout: 5_000 })
    expect(await row.innerText()).toContain('/api/products/4')
    expect(await row.innerText()).toContain(CLIENT)
    expect(await row.innerText()).toContain('limits.products-per-ip')
  })

  it('unblocks the client from the page, and the client gets through', async () => {
    expect(await product(5)).toBe(429)
    await page.locator('tr.row[data-action="throttle"]').first().getByTestId('unblock-row').click()
    const drawer = page.getByTestId('drawer')
    await drawer.getByText(CLIENT).first().waitFor()
    await drawer.getByTestId('unblock-confirm').click()
    await page.getByText(/Unblocked: 1 limit key reset/).waitFor({ timeout: 5_000 })
    expect(await product(6)).toBe(200)
    expect(pageErrors).toEqual([])
  })
})
