/**
 * People shopping from home: eight households, one address and one browser each, most of them
 * members who log in, some guests.
 * @see ../../../docs/simulate.md#people
 */
import type { Scenario } from '../scenario.js'
import { newAccount, shopperDay } from './shopper-day.js'

const PEOPLE = 8

/** Households shopping, one address and browser each. */
export const shoppers: Scenario = {
  id: 'shoppers',
  kind: 'human',
  title: `${PEOPLE} people shopping from home`,
  async run(w) {
    const homes = w.ips('homes')
    await w.parallel(PEOPLE, (n) => {
      const rng = w.rng.fork(`person:${n}`)
      const client = w.client(homes.draw(), w.humanProfile())
      const account = rng.chance(0.7) ? newAccount(rng, 'shopper', n) : undefined
      return shopperDay(w, { client, rng, account })
    })
  },
}
