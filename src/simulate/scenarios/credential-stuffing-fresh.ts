/**
 * OAT-008 Credential Stuffing the way stuffing tools that drive a fresh browser profile per
 * attempt do it: each attempt comes from a new address, opens a page first (so it carries the
 * cookies the site hands out, as a real first visit would), logs in, then throws the profile
 * away. One copied header set; one pair in the list (the 20th) is real. A device cookie alone
 * cannot tell it from a crowd of first visitors; `device: untrusted` rules can.
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-008_Credential_Stuffing
 */
import type { Scenario } from '../scenario.js'
import { leakedList } from './credential-stuffing.js'

/** Simulated milliseconds between attempts, per connection. */
const PACE = 200
const CONNECTIONS = 2

/** OAT-008 with a fresh browser profile (and its cookies) per attempt. */
export const credentialStuffingFresh: Scenario = {
  id: 'credential-stuffing-fresh',
  kind: 'bot',
  threat: 'OAT-008',
  title: 'credential stuffing: a new IP and a fresh browser profile (cookies) per attempt',
  async run(w) {
    const proxies = w.ips('harvesting')
    const client = w.client(
      proxies.draw(),
      w.botProfile((p) => !p.mobile),
    )
    const list = leakedList(w.rng)
    let tried = 0
    let worked = 0
    await w.parallel(CONNECTIONS, async () => {
      for (let pair = list.shift(); pair; pair = list.shift()) {
        const [username, password] = pair
        // A new profile: a new address, an empty cookie jar, the same copied browser headers.
        // (Two connections share the client, as in the other stuffing scenario: an attempt may
        // now and then carry the other connection's fresh cookie, which changes nothing here.)
        client.ip = proxies.draw()
        client.jar.clear()
        await client.send('GET', '/api/products')
        const res = await client.send('POST', '/api/login', { json: { username, password } })
        tried++
        if (res.status === 200) worked++
        w.achieved(`${worked} of ${tried} leaked logins worked`)
        await w.pause(PACE)
      }
    })
  },
}
