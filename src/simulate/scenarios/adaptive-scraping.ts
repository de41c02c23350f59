/**
 * OAT-011 Scraping by a bot that learns from answers: it sweeps product ids over two connections
 * from one address and one header set, and after a refusal (429, 403) it waits twice as long
 * between requests, moves to a new address, copies another browser's headers and drops its
 * cookies, then asks again.
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-011_Scraping
 */
import type { Scenario } from '../scenario.js'
import { fakeNote, PRODUCT_IDS } from './scraping.js'

/** Simulated milliseconds between requests at first, per connection; doubled after each refusal. */
const PACE = 100
const CONNECTIONS = 2
const REFUSALS = new Set([403, 429])

/** OAT-011, adaptive: changes address, browser and pace after each refusal. */
export const adaptiveScraping: Scenario = {
  id: 'adaptive-scraping',
  kind: 'bot',
  threat: 'OAT-011',
  title: 'adaptive scraper: slows down, changes IP and browser after a 429',
  async run(w) {
    const proxies = w.ips('adaptive')
    const client = w.client(
      proxies.draw(),
      w.botProfile((p) => !p.mobile),
    )
    const scraped = new Set<number>()
    /** 200s the gateway made up (deception): the bot believes them, the report does not. */
    const fakes = new Set<number>()
    const retry: number[] = []
    let next = 0
    let pace = PACE
    let identities = 1
    await w.parallel(CONNECTIONS, async () => {
      for (;;) {
        const id = retry.shift() ?? (next++ % PRODUCT_IDS) + 1
        const identity = identities
        const res = await client.send('GET', `/api/products/${id}`)
        if (REFUSALS.has(res.status)) {
          retry.push(id)
          // Both connections may be refused for one identity: change it once.
          if (identity === identities) {
            pace *= 2
            identities++
            client.ip = proxies.draw()
            client.profile = w.botProfile((p) => !p.mobile)
            client.jar.clear()
          }
        } else if (res.status === 200) (res.reached === false ? fakes : scraped).add(id)
        w.achieved(
          `${scraped.size} of ${PRODUCT_IDS} products${fakeNote(fakes, scraped)}, ${identities} identities, pace ${pace}ms`,
        )
        await w.pause(pace)
      }
    })
  },
}
