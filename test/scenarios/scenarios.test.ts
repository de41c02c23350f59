/**
 * The one scenario runner: every folder of test/scenarios (a bulwark.yaml and a traffic.yaml)
 * runs through the proxy and through every framework adapter, with the same config and the
 * same expectations. A rule must behave identically in both modes; this is where that is shown.
 * @see ./README.md
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { request } from 'node:http'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startShop } from '../../examples/shop/shop.js'
import { loadGatewayConfig } from '../../src/config/gateway-config.js'
import type { DecisionMessage } from '../../src/telemetry/channels.js'
import { TARGETS } from './lib/targets.js'
import { loadScenarios, withN, type Step } from './lib/traffic.js'

const SCENARIOS = await loadScenarios(dirname(fileURLToPath(import.meta.url)))
const STEP_HEADER = 'x-scenario-step'

interface Reply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** Sends the target exactly as written (fetch would normalise it). */
function send(
  base: string,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  const u = new URL(base)
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path: target, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** The `bulwark:decision` message of the request carrying `step`, once it is published. */
function decisionFor(messages: DecisionMessage[], step: string): Promise<DecisionMessage> {
  const end = Date.now() + 2000
  return new Promise((resolve, reject) => {
    const look = () => {
      const m = messages.find((x) => x.ctx.headers[STEP_HEADER] === step)
      if (m) return resolve(m)
      if (Date.now() > end) return reject(new Error(`no decision was published for step ${step}`))
      setTimeout(look, 2)
    }
    look()
  })
}

it('finds the scenario table', () => {
  expect(SCENARIOS.map((s) => s.name)).toEqual(
    expect.arrayContaining([
      'access-by-network',
      'ambiguous-paths',
      'failed-logins',
      'login-per-account',
    ]),
  )
})

describe.each(SCENARIOS)('scenario $name', ({ name, configFile, traffic }) => {
  it.each(TARGETS.map((t) => [t.name, t] as const))(
    `%s: ${traffic.description}`,
    async (_n, target) => {
      const shop = await startShop({ port: 0 })
      const config = await loadGatewayConfig(configFile, { ...process.env, SHOP_URL: shop.url })
      const running = await target.start(config, shop)
      const messages: DecisionMessage[] = []
      const collect = (m: unknown) => void messages.push(m as DecisionMessage)
      diagnostics_channel.subscribe('bulwark:decision', collect)
      const jars = new Map<string, Map<string, string>>()
      let seq = 0
      try {
        for (const [k, step] of traffic.steps.entries()) {
          const missing = step.needs.filter((c) => !target.can.has(c))
          if (missing.length) continue // documented: this target cannot see what the step is about
          for (let n = 1; n <= step.repeat; n++) {
            const s = withN(step, n)
            const label = `${name} step ${k + 1} (${s.send}) #${n} via ${target.name}`
            const { headers, body } = await build(s, jars, shop)
            const id = String(++seq)
            headers[STEP_HEADER] = id
            const [method, path] = s.send.split(' ') as [string, string]
            const reply = await send(running.url, method, path, headers, body)
            keepCookies(jars, s.client, reply)
            const m = await decisionFor(messages, id)
            expect({ status: reply.status, rule: m.decision.decisive?.rule }, label).toEqual({
              status: s.expect.status,
              rule: s.expect.rule,
            })
            expect(m.outcome.status, `${label}: observed status`).toBe(reply.status)
            for (const h of s.expect.headers)
              expect(reply.headers[h], `${label}: header ${h}`).toBeDefined()
            if (s.expect.rule && m.outcome.byGateway) {
              // Bulwark's own answer reads the same in every mode
              expect(JSON.parse(reply.body), label).toEqual({
                error: expect.any(String),
                status: reply.status,
                requestId: reply.headers['x-request-id'],
              })
            }
          }
        }
      } finally {
        diagnostics_channel.unsubscribe('bulwark:decision', collect)
        await running.close()
        await shop.close()
      }
    },
  )
})

async function build(
  s: Step,
  jars: Map<string, Map<string, string>>,
  shop: { issueToken: (c: { sub: string; scope?: string }) => Promise<string> },
) {
  const headers: Record<string, string> = { ...s.headers }
  let body = s.body
  if (s.json !== undefined) {
    body = JSON.stringify(s.json)
    headers['content-type'] ??= 'application/json'
  }
  if (s.from) headers['x-forwarded-for'] = s.from
  if (s.token) headers.authorization = `Bearer ${await shop.issueToken(s.token)}`
  const jar = s.client ? jars.get(s.client) : undefined
  if (jar?.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  return { headers, body }
}

function keepCookies(
  jars: Map<string, Map<string, string>>,
  client: string | undefined,
  reply: Reply,
) {
  if (!client) return
  const jar = jars.get(client) ?? new Map<string, string>()
  jars.set(client, jar)
  const set = reply.headers['set-cookie']
  for (const c of Array.isArray(set) ? set : set ? [set] : []) {
    const pair = c.split(';', 1)[0]!
    const eq = pair.indexOf('=')
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
  }
}
