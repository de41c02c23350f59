/**
 * The canonical-path table replayed through a real gateway and upstream: what the gateway
 * matches on is exactly what the upstream receives, and anything ambiguous never gets there.
 * Targets go over a raw socket: fetch and undici would normalise or refuse many of them.
 * @see ../request/path-cases.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import type { CasePolicy } from '../../src/request/path.js'
import { PATH_CASES } from '../request/path-cases.js'
import { rawGet, startGw, startUpstream, type Upstream } from './helpers.js'

/** Rows without `case` run under the gateway's default policy (`insensitive`, not set here). */
const DEFAULT = 'default'
type Policy = CasePolicy | typeof DEFAULT

let upstream: Upstream
const gateways = new Map<Policy, Gateway>()

beforeAll(async () => {
  upstream = await startUpstream()
  for (const policy of [DEFAULT, 'sensitive', 'insensitive', 'lower'] as const) {
    // The table's longest targets (12k characters) exceed the default maxUrlLength (8 KiB);
    // they test the canonicaliser, so the limit is raised (it has its own test in framing).
    const server = { maxUrlLength: '15kb', ...(policy === DEFAULT ? {} : { pathCase: policy }) }
    const gw = await startGw({
      server,
      upstreams: { up: { url: upstream.url } },
      routes: [{ path: '/*', upstream: 'up' }],
    })
    gateways.set(policy, gw)
  }
})

afterAll(async () => {
  await Promise.all([...gateways.values()].map((g) => g.close()))
  await upstream.close()
})

describe('proxy: canonical paths through the gateway', () => {
  PATH_CASES.forEach((c, n) => {
    const policy: Policy = c.case ?? DEFAULT
    const refused = c.fail === true || (c.flags ?? 0) !== 0
    const title = `${c.name} (${policy}): ${refused ? '400' : `upstream gets ${c.path}`}`
    it(title, async () => {
      const gw = gateways.get(policy)!
      const tag = `case-${n}`
      const res = await rawGet(gw.port, c.target, [`X-Case: ${tag}`])
      const seen = upstream.received.filter((r) => r.headers['x-case'] === tag)
      if (refused) {
        expect(res.status).toBe(400)
        expect(seen).toEqual([])
      } else {
        expect(res.status).toBe(200)
        expect(seen.map((r) => r.url)).toEqual([c.query ? `${c.path}?${c.query}` : c.path])
      }
    })
  })
})
