/**
 * OAT-008 Credential Stuffing: username/password pairs leaked elsewhere, tried once each over two
 * connections, every attempt from a new residential-proxy address, all with one copied browser header set. One pair
 * in the list is real (bob's), twenty attempts in: whether the bot gets there is the question.
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-008_Credential_Stuffing
 */
import type { Rng } from '../rng.js'
import type { Scenario } from '../scenario.js'

/** Simulated milliseconds between attempts, per connection. */
const PACE = 200
const CONNECTIONS = 2
const FIRST = ['anna', 'ben', 'chris', 'dana', 'eve', 'finn', 'gina', 'hugo', 'ida', 'jon', 'kim']
const LAST = ['smith', 'jones', 'lee', 'brown', 'garcia', 'miller', 'davis', 'wilson']
const PASSWORDS = ['123456', 'password', 'qwerty123', 'letmein', 'summer2024', 'iloveyou', 'dragon']

/** OAT-008: a leaked list, a new address per attempt. */
export const credentialStuffing: Scenario = {
  id: 'credential-stuffing',
  kind: 'bot',
  threat: 'OAT-008',
  title: 'credential stuffing: a leaked list, a new IP per attempt',
  async run(w) {
    const proxies = w.ips('stuffing')
    const client = w.client(
      proxies.draw(),
      w.botProfile((p) => !p.mobile),
    )
    client.keepCookies = false
    const list = leakedList(w.rng)
    let tried = 0
    let worked = 0
    await w.parallel(CONNECTIONS, async () => {
      for (let pair = list.shift(); pair; pair = list.shift()) {
        const [username, password] = pair
        client.ip = proxies.draw()
        const res = await client.send('POST', '/api/login', { json: { username, password } })
        tried++
        if (res.status === 200) worked++
        w.achieved(`${worked} of ${tried} leaked logins worked`)
        await w.pause(PACE)
      }
    })
  },
}

/** 400 pairs, the 20th of them real (also used by credential-stuffing-fresh). */
export function leakedList(rng: Rng): [string, string][] {
  const list: [string, string][] = Array.from({ length: 400 }, (_, i) => [
    `${rng.pick(FIRST)}.${rng.pick(LAST)}${i}`,
    rng.pick(PASSWORDS),
  ])
  list[19] = ['bob', 'bob-pw']
  return list
}
