/**
 * OAT-007 Credential Cracking: brute force on one account (`admin`) from one address, down a
 * list of common passwords. The right one is 25th: whether the bot gets there is the question.
 * @see https://owasp.org/www-project-automated-threats-to-web-applications/assets/oats/EN/OAT-007_Credential_Cracking
 */
import type { Scenario } from '../scenario.js'

/** Simulated milliseconds between attempts. */
const PACE = 250
// One string, split: prettier would put every password on a line of its own.
const COMMON = (
  'admin password 123456 admin123 root letmein qwerty welcome changeme secret passw0rd admin1 ' +
  'administrator master shop shop123 test guest default admin2024 Admin! p@ssw0rd trustno1 hunter2'
).split(' ')
/** The list, with the real password 25th; then variations on it forever. */
const PASSWORDS = [...COMMON, 'admin-pw']

/** OAT-007: brute force on `admin` from one address. */
export const credentialCracking: Scenario = {
  id: 'credential-cracking',
  kind: 'bot',
  threat: 'OAT-007',
  title: 'credential cracking: brute force on the admin account, one IP',
  async run(w) {
    const client = w.client(
      w.ips('cracking').draw(),
      w.botProfile((p) => !p.mobile),
    )
    client.keepCookies = false
    for (let i = 0; ; i++) {
      const password = PASSWORDS[i] ?? `admin${i}`
      const res = await client.send('POST', '/api/login', {
        json: { username: 'admin', password },
      })
      if (res.status === 200) {
        // The bot stops either way: a fake success (deception) fools it.
        w.achieved(
          res.reached === false
            ? `fooled by a fake success after ${i + 1} tries`
            : `admin's password found after ${i + 1} tries`,
        )
        return
      }
      w.achieved(`not found in ${i + 1} tries`)
      await w.pause(PACE)
    }
  },
}
