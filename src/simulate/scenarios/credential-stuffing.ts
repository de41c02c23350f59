/**
 * OAT-008 Credential Stuffing: username/password pairs leaked elsewhere, tried once each over two
 * connections, every attempt from a new residential-proxy address, all with one copied browser header set. One pair
 * in the list is real (bob's), twenty attempts in: whether the bot gets there is the question.
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-008_Credential_Stuffing
 */
import type { Rng } from '../rng.js'
import type { Scenario } from '../scenario.js'
import type { World } from '../world.js'

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
  run: (w) => stuff(w, 'stuffing', false),
}

/**
 * OAT-008 with header rotation: a new address *and another browser's header set* per attempt,
 * no cookies, so neither an IP nor a fingerprint links two attempts.
 */
export const credentialStuffingRotating: Scenario = {
  id: 'credential-stuffing-rotating',
  kind: 'bot',
  threat: 'OAT-008',
  title: 'credential stuffing: a new IP and another browser header set per attempt',
  run: (w) => stuff(w, 'stuffing', false, true),
}

/**
 * OAT-008 the way stuffing tools that drive a fresh browser profile per attempt do it: each
 * attempt comes from a new address, opens a page first (so it carries the cookies the site hands
 * out, as a real first visit would), logs in, then throws the profile away. A device cookie alone
 * cannot tell it from a crowd of first visitors; `device: untrusted` rules can.
 */
export const credentialStuffingFresh: Scenario = {
  id: 'credential-stuffing-fresh',
  kind: 'bot',
  threat: 'OAT-008',
  title: 'credential stuffing: a new IP and a fresh browser profile (cookies) per attempt',
  run: (w) => stuff(w, 'harvesting', true),
}

/**
 * OAT-008 with a fresh browser profile *and* another browser's header set per attempt: new
 * address, new cookie, new fingerprint every time. Nothing about the client links two attempts;
 * only what they share does — new devices failing at one login route.
 */
export const credentialStuffingFreshRotating: Scenario = {
  id: 'credential-stuffing-fresh-rotating',
  kind: 'bot',
  threat: 'OAT-008',
  title: 'credential stuffing: a new IP, a fresh profile and another header set per attempt',
  run: (w) => stuff(w, 'harvesting', true, true),
}

/**
 * The leaked list over two connections, a new address per attempt, one copied header set (or,
 * with `rotate`, another one per attempt); `fresh`: an empty cookie jar and a page before each
 * login, else no cookies at all. (The two connections share the client: now and then an attempt
 * carries the other one's fresh cookie, which changes nothing here.)
 */
async function stuff(w: World, network: 'stuffing' | 'harvesting', fresh: boolean, rotate = false) {
  const proxies = w.ips(network)
  const desktop = (p: { mobile: boolean }) => !p.mobile
  const client = w.client(proxies.draw(), w.botProfile(desktop))
  client.keepCookies = fresh
  const list = leakedList(w.rng)
  let tried = 0
  let worked = 0
  let fakes = 0
  await w.parallel(CONNECTIONS, async () => {
    for (let pair = list.shift(); pair; pair = list.shift()) {
      const [username, password] = pair
      client.ip = proxies.draw()
      if (rotate) client.profile = w.botProfile(desktop)
      if (fresh) {
        client.jar.clear()
        await client.send('GET', '/api/products')
      }
      const res = await client.send('POST', '/api/login', { json: { username, password } })
      tried++
      // A fake success (deception) fools the bot, not the report.
      if (res.status === 200) res.reached === false ? fakes++ : worked++
      w.achieved(
        `${worked} of ${tried} leaked logins worked${fakes ? ` (${fakes} more answers were fakes)` : ''}`,
      )
      await w.pause(PACE)
    }
  })
}

/** 400 pairs, the 20th of them real. */
function leakedList(rng: Rng): [string, string][] {
  const list: [string, string][] = Array.from({ length: 400 }, (_, i) => [
    `${rng.pick(FIRST)}.${rng.pick(LAST)}${i}`,
    rng.pick(PASSWORDS),
  ])
  list[19] = ['bob', 'bob-pw']
  return list
}
