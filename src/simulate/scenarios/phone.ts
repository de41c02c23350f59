/**
 * People on phones that change address mid-session: home Wi-Fi, then the carrier's CGNAT (a new
 * address each time), and back. Their session, cookies and token stay the same throughout.
 * @see ../../../docs/simulate.md#people
 */
import type { Scenario } from '../scenario.js'
import { newAccount, shopperDay } from './shopper-day.js'

const PHONES = 2
/** Chance, before each request, that the phone is on another network. */
const MOVE = 0.25

/** Phones moving between Wi-Fi and the carrier mid-session. */
export const phone: Scenario = {
  id: 'phone',
  kind: 'human',
  title: `${PHONES} phones that change IP mid-session`,
  async run(w) {
    const wifi = w.ips('wifi')
    const carrier = w.ips('carrier')
    await w.parallel(PHONES, (n) => {
      const rng = w.rng.fork(`person:${n}`)
      const home = wifi.draw()
      const client = w.client(
        home,
        w.humanProfile((p) => p.mobile),
      )
      const beforeRequest = () => {
        if (rng.chance(MOVE)) client.ip = client.ip === home ? carrier.draw() : home
      }
      return shopperDay(w, { client, rng, account: newAccount(rng, 'phone', n), beforeRequest })
    })
  },
}
