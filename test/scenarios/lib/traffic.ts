/**
 * The scenario table's format: `test/scenarios/<name>/traffic.yaml`, each request paired with
 * the status the client must get and the rule that must have decided it. Read with the config
 * loader, so a mistake in a traffic file reads `traffic.yaml:12 steps[3].expect.status: …`.
 * @see ../README.md
 */
import { readdirSync, existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { parseConfig } from '../../../src/config/load.js'

/** What a target can do; a step that needs more is skipped there (and says why). */
export const CAPABILITIES = ['raw-body'] as const
export type Capability = (typeof CAPABILITIES)[number]

const Step = z.strictObject({
  /** `METHOD target`, the target sent exactly as written. */
  send: z.string().regex(/^[A-Z]+ \S+$/),
  /** The client IP (sent as X-Forwarded-For by the trusted 127.0.0.1); `{n}` = repetition 1…repeat. */
  from: z.string().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  /** A JSON body (strings may use `{n}`). */
  json: z.unknown().optional(),
  /** A body sent as is. */
  body: z.string().optional(),
  /** A bearer token the shop signs with these claims. */
  token: z.looseObject({ sub: z.string(), scope: z.string().optional() }).optional(),
  /** A client name: its cookies are kept between steps (sessions, flows). */
  client: z.string().optional(),
  repeat: z.number().int().positive().default(1),
  /** Steps only some targets can run: `raw-body` needs the bytes on the wire (duplicate keys). */
  needs: z.array(z.enum(CAPABILITIES)).default([]),
  expect: z.strictObject({
    status: z.number().int(),
    /** The rule that decided (the decisive verdict); absent: no rule acted. */
    rule: z.string().optional(),
    /** Response headers that must be present. */
    headers: z.array(z.string()).default([]),
  }),
})

export const Traffic = z.strictObject({
  description: z.string(),
  steps: z.array(Step).min(1),
})
export type Traffic = z.output<typeof Traffic>
export type Step = z.output<typeof Step>

export interface Scenario {
  readonly name: string
  readonly dir: string
  readonly configFile: string
  readonly traffic: Traffic
}

/** Every folder of `root` holding a bulwark.yaml and a traffic.yaml, by name. */
export async function loadScenarios(root: string): Promise<Scenario[]> {
  const out: Scenario[] = []
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name)
    const configFile = join(dir, 'bulwark.yaml')
    const trafficFile = join(dir, 'traffic.yaml')
    if (!existsSync(configFile) || !existsSync(trafficFile)) continue
    const traffic = parseConfig(
      await readFile(trafficFile, 'utf8'),
      `${name}/traffic.yaml`,
      Traffic,
      {},
    )
    out.push({ name, dir, configFile, traffic })
  }
  return out
}

/** Replaces `{n}` in every string of `v`. */
export function withN<T>(v: T, n: number): T {
  if (typeof v === 'string') return v.replaceAll('{n}', String(n)) as T
  if (Array.isArray(v)) return v.map((x: unknown) => withN(x, n)) as T
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withN(x, n)])) as T
  return v
}
