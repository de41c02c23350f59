/**
 * What is read from a client's headers is remembered per connection (src/identity/device.ts,
 * src/identity/facets.ts): the next request on it that sends the same headers reuses it. These
 * tests make sure a connection never lends one request's reading to a request that sent
 * something else — a forged cookie after a genuine one, another User-Agent, headers in another
 * order — and that the result is the one a request on a connection of its own would get.
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { deviceCookies } from '../../src/identity/device.js'
import { identityFacets } from '../../src/identity/facets.js'
import { DeviceSpec, IdentitySpec } from '../../src/identity/spec.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw } from '../helpers/engine.js'

const SECRET = 'k'.repeat(32)
const T0 = 1_800_000_000_000
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0'
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'

/** A request whose headers are new strings, as node:http gives every request its own. */
function fresh(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, ` ${v}`.slice(1)]))
}

describe('device cookie read per connection', () => {
  const devices = deviceCookies(DeviceSpec.parse({ secret: SECRET, trustAfter: '10m' }))
  const cookie = devices.read({ 'user-agent': CHROME }, T0).setCookie!.split(';')[0]!
  const id = cookie.slice('bw_device='.length, cookie.indexOf('.'))

  it('reads a forged cookie after a genuine one on the same connection as forged', () => {
    const conn = {}
    const read = (c: string, ua = CHROME, at = T0 + 1_000) =>
      devices.read(fresh({ 'user-agent': ua, cookie: c }), at, conn)
    expect(read(cookie).id).toBe(id)
    // The same id with another signature, then another id with the genuine signature.
    const mac = cookie.slice(cookie.lastIndexOf('.') + 1)
    const forgedMac = cookie.slice(0, -mac.length) + (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1)
    expect(read(forgedMac).id).toBeUndefined()
    const otherId = cookie.replace(id, id.replace(/^./, id[0] === 'a' ? 'b' : 'a'))
    expect(read(otherId).id).toBeUndefined()
    expect(read(cookie).id).toBe(id)
    // Another User-Agent with the same cookie: the same device, known from now on, as on a
    // connection of its own.
    const moved = read(cookie, FIREFOX, T0 + 20 * 60_000)
    const alone = devices.read({ 'user-agent': FIREFOX, cookie }, T0 + 20 * 60_000)
    expect(moved).toMatchObject({ id, trusted: false, since: T0 + 20 * 60_000 })
    expect(alone).toMatchObject({ id, trusted: false, since: T0 + 20 * 60_000 })
    // And the time still counts: the same headers later are trusted once trustAfter passed.
    expect(read(cookie, CHROME, T0 + 5 * 60_000).trusted).toBe(false)
    expect(read(cookie, CHROME, T0 + 11 * 60_000).trusted).toBe(true)
  })

  it('gives no cookie to a request without one after a request with one', () => {
    const conn = {}
    expect(devices.read(fresh({ cookie }), T0, conn).id).toBe(id)
    expect(devices.read({}, T0 + 10, conn).id).toBeUndefined()
  })
})

describe('fingerprint per connection', () => {
  const engine = createEngine(config({}), { store: new MemoryStore() })
  const facets = identityFacets(IdentitySpec.parse({}))
  const fingerprint = facets.getter('fingerprint')

  it('is what a connection of its own would give, whatever came before on it', () => {
    const conn = {}
    const on = (headers: Record<string, string>, c: object | undefined = conn) => {
      const { ctx } = engine.prepare({
        ...raw('GET /a', { headers: fresh(headers) }),
        connection: c,
      })
      return fingerprint(ctx) as string
    }
    const a = { 'user-agent': CHROME, accept: 'application/json', 'accept-language': 'en-GB' }
    const fpA = on(a, undefined)
    expect(fpA).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(on(a)).toBe(fpA)
    expect(on(a)).toBe(fpA)
    // One value changed, one header added, one left out, the same headers in another order:
    // each is its own fingerprint, the one it has on a connection of its own.
    const others = [
      { ...a, 'accept-language': 'de-DE' },
      { ...a, 'accept-encoding': 'gzip' },
      { 'user-agent': CHROME, accept: 'application/json' },
      { accept: 'application/json', 'user-agent': CHROME, 'accept-language': 'en-GB' },
    ]
    for (const h of others) {
      const alone = on(h, undefined)
      expect(alone).not.toBe(fpA)
      expect(on(h)).toBe(alone)
      expect(on(a)).toBe(fpA)
    }
    // Headers it does not fingerprint change nothing.
    expect(on({ ...a, 'x-trace': '1' })).toBe(fpA)
  })
})
