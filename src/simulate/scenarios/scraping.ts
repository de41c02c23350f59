/**
 * OAT-011 Scraping: a sweep through product ids (prices and names) over four connections, every
 * request from a new residential-proxy address, all with one copied browser header set.
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-011_Scraping
 */
import type { Scenario } from '../scenario.js'

/** Simulated milliseconds between requests, per connection. */
const PACE = 100
const CONNECTIONS = 4
/** The demo shop's catalogue: ids 1..50; the sweep starts over after the last. */
export const PRODUCT_IDS = 50

/** OAT-011: a product-id sweep, a new address per request. */
export const scraping: Scenario = {
  id: 'scraping',
  kind: 'bot',
  threat: 'OAT-011',
  title: 'scraping: a product-id sweep, a new IP per request',
  async run(w) {
    const proxies = w.ips('scraping')
    const client = w.client(
      proxies.draw(),
      w.botProfile((p) => !p.mobile),
    )
    client.keepCookies = false
    const scraped = new Set<number>()
    const fakes = new Set<number>()
    let next = 0
    await w.parallel(CONNECTIONS, async () => {
      for (;;) {
        const id = (next++ % PRODUCT_IDS) + 1
        client.ip = proxies.draw()
        const res = await client.send('GET', `/api/products/${id}`)
        if (res.status === 200) (res.reached === false ? fakes : scraped).add(id)
        w.achieved(`${scraped.size} of ${PRODUCT_IDS} products scraped${fakeNote(fakes, scraped)}`)
        await w.pause(PACE)
      }
    })
  },
}

/** ", 12 more were fakes" when the gateway answered products the bot never really got. */
export function fakeNote(fakes: ReadonlySet<number>, real: ReadonlySet<number>): string {
  let n = 0
  for (const id of fakes) if (!real.has(id)) n++
  return n ? ` (${n} more were fakes)` : ''
}
