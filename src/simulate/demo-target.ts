/**
 * The in-process demo target: the shop and a gateway in front of it, both on loopback ports of
 * this process. Knowing both ends, it can say of every answer whether the upstream received the
 * request (the shop's own `received` log, the ground truth: the gateway's word is not taken) and,
 * from the `bulwark:decision` channel, which rule decided it and what delay it added.
 * Used by `simulate.ts`; calls the shop, the config loader and `startGateway`.
 * @see ../../docs/simulate.md#demo-mode
 */
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { loadGatewayConfig } from '../config/gateway-config.js'
import type { Config } from '../config/schema.js'
import { startGateway, type Gateway } from '../proxy/gateway.js'
import { decisionChannel, type DecisionMessage } from '../telemetry/channels.js'
import { demoConfigFile } from './demo-config-file.js'
import type { Observation, Target } from './target.js'

/** The simulator's own address: the one proxy the demo gateway trusts. */
export const SIMULATOR_PROXY = '127.0.0.1/32'
/** Decisions kept until their answer is observed; more means answers nobody waited for. */
const MAX_PENDING = 10_000

/**
 * The loaded config with what the simulation needs: every upstream pointed at the shop, and the
 * simulator trusted to say, in `X-Forwarded-For`, which simulated client is asking.
 * @example demoGatewayConfig(config, shop.url).server.trustedProxies // [...theirs, '127.0.0.1/32']
 */
export function demoGatewayConfig(config: Config, shopUrl: string): Config {
  return {
    ...config,
    server: {
      ...config.server,
      trustedProxies: [...config.server.trustedProxies, SIMULATOR_PROXY],
      clientIpHeader: 'x-forwarded-for',
    },
    upstreams: Object.fromEntries(
      Object.entries(config.upstreams).map(([name, u]) => [name, { ...u, url: shopUrl }]),
    ),
  }
}

/**
 * Starts the shop and a gateway running `configFile` (default: the demo config) in front of it.
 * @example
 * const target = await startDemoTarget()
 * // …send traffic to target.url…
 * await target.close()
 */
export async function startDemoTarget(configFile?: string): Promise<Target> {
  const file = configFile ?? demoConfigFile()
  const shop: Shop = await startShop({ port: 0 })
  const decisions = new Map<string, { rule: string; delayMs: number }>()
  const onDecision = (message: unknown) => {
    const { ctx, decision } = message as DecisionMessage
    const v = decision.decisive
    if (decision.action === 'allow' || !v) return
    if (decisions.size >= MAX_PENDING) decisions.delete(decisions.keys().next().value!)
    decisions.set(ctx.id, { rule: v.rule, delayMs: v.delayMs ?? 0 })
  }
  let gateway: Gateway | undefined
  decisionChannel.subscribe(onDecision)
  try {
    const loaded = await loadGatewayConfig(file, { ...process.env, SHOP_URL: shop.url })
    gateway = await startGateway(demoGatewayConfig(loaded, shop.url), {
      port: 0,
      host: '127.0.0.1',
    })
  } catch (err) {
    decisionChannel.unsubscribe(onDecision)
    await shop.close()
    throw err
  }
  const gw = gateway
  const idHeader = gw.engine.config.server.requestIdHeader

  /**
   * The shop logs a request before answering it, so it is in `received` by the time its answer
   * reaches the client, unless 200 newer requests pushed it out first: the simulator has far
   * fewer in flight.
   */
  const reached = (id: string): boolean => {
    const log = shop.received
    for (let i = log.length - 1; i >= 0; i--) if (log[i]!.headers[idHeader] === id) return true
    return false
  }

  return {
    mode: 'demo',
    url: gw.url,
    config: file,
    requestIdHeader: idHeader,
    observe(id): Observation {
      if (id === undefined) return { reached: false }
      const d = decisions.get(id)
      decisions.delete(id)
      return { reached: reached(id), ...d }
    },
    async close() {
      decisionChannel.unsubscribe(onDecision)
      await gw.close()
      await shop.close()
    },
  }
}
