/**
 * OAT-001 Carding: stolen card data (as payment tokens) tried straight at checkout, skipping the
 * shop's journey: no product page, no cart, no session cookie, two connections, a new address
 * per attempt. No
 * rule about one request stops this; a flow rule ("checkout comes after a cart") can.
 * (OAT-021 Denial of Inventory is about holding stock in carts, which this bot never touches.)
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-001_Carding
 */
import type { Scenario } from '../scenario.js'
import { paymentToken } from './shopper-day.js'

/** Simulated milliseconds between attempts, per connection. */
const PACE = 300
const CONNECTIONS = 2

/** OAT-001: payment tokens tried at checkout without a cart. */
export const carding: Scenario = {
  id: 'carding',
  kind: 'bot',
  threat: 'OAT-001',
  title: 'carding: checkout without a cart, a new IP per attempt',
  async run(w) {
    const proxies = w.ips('carding')
    const client = w.client(
      proxies.draw(),
      w.botProfile((p) => !p.mobile),
    )
    client.keepCookies = false
    let tried = 0
    let orders = 0
    let fakes = 0
    await w.parallel(CONNECTIONS, async () => {
      for (;;) {
        client.ip = proxies.draw()
        const res = await client.send('POST', '/api/checkout', {
          json: { paymentToken: paymentToken(w.rng) },
        })
        tried++
        // A fake order (deception, shaped like the shop's own) fools the bot, not the report.
        if (res.status === 201) res.reached === false ? fakes++ : orders++
        w.achieved(
          `${orders} orders from ${tried} card tokens${fakes ? ` (${fakes} more answers were fake orders)` : ''}`,
        )
        await w.pause(PACE)
      }
    })
  },
}
