/**
 * An office of twenty people behind one NAT address, all shopping on their lunch break: per-IP
 * limits must leave room for them. Each runs their own browser build and language, as people in
 * one office mostly do (see docs/simulate.md for the shared-image case).
 * @see ../../../docs/simulate.md#people
 */
import type { Scenario } from '../scenario.js'
import { newAccount, shopperDay } from './shopper-day.js'

const PEOPLE = 20

/** Twenty people behind one address. */
export const office: Scenario = {
  id: 'office',
  kind: 'human',
  title: `an office: ${PEOPLE} people behind one IP`,
  async run(w) {
    const nat = w.ips('office').draw()
    await w.parallel(PEOPLE, (n) => {
      const rng = w.rng.fork(`person:${n}`)
      const client = w.client(
        nat,
        w.humanProfile((p) => !p.mobile),
      )
      const account = rng.chance(0.8) ? newAccount(rng, 'office', n) : undefined
      return shopperDay(w, { client, rng, account })
    })
  },
}
