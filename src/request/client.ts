/**
 * Who the client is, as far as the network tells: the IP, its group, and which hop said so.
 *
 * The socket address is the truth unless the socket belongs to a configured trusted proxy.
 * Then the proxies' header (`X-Forwarded-For` or RFC 7239 `Forwarded`, whichever the proxies
 * are configured to set) is walked right to left past trusted hops: the first untrusted hop is
 * the client. A header the trusted proxy does not set is never read, because the client wrote it.
 * @see ../../README.md#client-identity
 */
import { BlockList, isIP } from 'node:net'
import type { IncomingHttpHeaders } from 'node:http'
import type { IpSource } from '../engine/types.js'

export interface ClientIpOptions {
  /** CIDRs or addresses of proxies in front of Bulwark. Empty: trust the socket only. */
  readonly trustedProxies: readonly string[]
  /** The header the trusted proxies set. */
  readonly header: 'x-forwarded-for' | 'forwarded'
  /** IPv6 clients are grouped by this prefix length (64, 56 or 48). */
  readonly ipv6Prefix: number
}

export interface ClientIp {
  readonly ip: string
  readonly ipPrefix: string
  readonly source: IpSource
  /** How many trusted hops were walked past (0: the socket address itself). */
  readonly hop: number
  /** Forwarding headers arrived from a client that is not a trusted proxy and were ignored. */
  readonly ignoredForwarding: boolean
}

/** Headers that claim a client IP; never passed upstream from an untrusted client. */
export const CLIENT_IP_HEADERS = [
  'x-forwarded-for',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'x-forwarded',
  'forwarded-for',
  'client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-envoy-external-address',
  'x-original-forwarded-for',
  'x-real-client-ip',
  'x-proxyuser-ip',
  'x-azure-clientip',
  'x-azure-socketip',
  'x-appengine-user-ip',
  'x-forwarded-client-ip',
] as const

/**
 * Other headers a proxy in front sets to describe the original request (scheme, host, port,
 * prefix): from a client that is not a trusted proxy they are claims, never passed upstream.
 */
export const FORWARDING_CLAIM_HEADERS = [
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-scheme',
  'x-forwarded-server',
  'x-forwarded-prefix',
  'x-forwarded-ssl',
  'x-host',
  'x-url-scheme',
  'front-end-https',
  // What some proxies tell a backend about the original request line (Traefik, Envoy): from a
  // client, claims about a request the policy never saw.
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-forwarded-method',
  'x-envoy-original-path',
] as const

/**
 * Headers that make some backends serve another path or method than the request line names
 * (IIS/ASP.NET, Symfony, Laminas, method-override middleware): the gateway's policy would have
 * judged one request and the backend run another. Refused or stripped (`server.overrideHeaders`).
 */
export const OVERRIDE_HEADERS = [
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
] as const

/**
 * True when a query string carries `_method` (Rails, Laravel, Symfony, Express's
 * method-override read it, some from the query string): the backend would run another method
 * than the one the policy judged. Escaped spellings (`%5Fmethod`, `_m%65thod`) count.
 */
export function hasMethodOverrideParam(query: string): boolean {
  if (query.indexOf('_') < 0 && query.indexOf('%') < 0) return false
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    let name = eq < 0 ? part : part.slice(0, eq)
    if (name.indexOf('%') >= 0)
      try {
        name = decodeURIComponent(name)
      } catch {
        continue
      }
    if (name.length === 7 && name.toLowerCase() === '_method') return true
  }
  return false
}

/**
 * Compiles the options into a resolver. Throws TypeError on a malformed CIDR.
 * @example
 * const resolve = clientIpResolver({ trustedProxies: ['10.0.0.0/8'], header: 'x-forwarded-for', ipv6Prefix: 64 })
 * resolve('10.0.0.5', { 'x-forwarded-for': '203.0.113.9' }).ip // '203.0.113.9'
 */
export function clientIpResolver(opts: ClientIpOptions) {
  const trusted = new BlockList()
  for (const cidr of opts.trustedProxies) addCidr(trusted, cidr)
  const anyTrusted = opts.trustedProxies.length > 0
  const isTrusted = (ip: string) =>
    anyTrusted && trusted.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')

  // A keep-alive connection sends many requests from one socket address: its normalised form
  // and group are worked out once (per address, bounded), not per request.
  const direct = new Map<string, ClientIp>()
  return function resolveClientIp(
    socketIp: string | undefined,
    headers: IncomingHttpHeaders,
  ): ClientIp {
    const forwarding = headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined
    const known = socketIp === undefined ? undefined : direct.get(socketIp)
    if (known !== undefined && !forwarding) return known
    const sock = normalizeIp(socketIp ?? '') || '0.0.0.0'
    if (!isTrusted(sock)) {
      const client = result(sock, 'socket', 0, forwarding, opts.ipv6Prefix)
      if (!forwarding && socketIp !== undefined) {
        if (direct.size >= DIRECT_MEMO) direct.clear()
        direct.set(socketIp, client)
      }
      return client
    }
    const hops =
      opts.header === 'forwarded'
        ? forwardedFor(headers.forwarded)
        : xffHops(headers['x-forwarded-for'])
    let hop = 0
    for (let i = hops.length - 1; i >= 0; i--) {
      const ip = normalizeIp(hops[i]!)
      hop++
      // A hop that is not an IP (`unknown`, an obfuscated id) cannot be trusted or grouped: stop here.
      if (!ip) return result(sock, 'socket', 0, false, opts.ipv6Prefix)
      if (!isTrusted(ip)) return result(ip, opts.header, hop, false, opts.ipv6Prefix)
    }
    // Every hop was a trusted proxy: the leftmost one is the best we know.
    const first = hops.length ? normalizeIp(hops[0]!) : ''
    return first
      ? result(first, opts.header, hops.length, false, opts.ipv6Prefix)
      : result(sock, 'socket', 0, false, opts.ipv6Prefix)
  }
}

/** Socket addresses remembered by a resolver; the memo starts over when full. */
const DIRECT_MEMO = 4096

function result(
  ip: string,
  source: IpSource,
  hop: number,
  ignored: boolean,
  v6prefix: number,
): ClientIp {
  return { ip, ipPrefix: ipGroup(ip, v6prefix), source, hop, ignoredForwarding: ignored }
}

function addCidr(list: BlockList, cidr: string) {
  const [addr, bits] = cidr.split('/')
  const ip = normalizeIp(addr ?? '')
  const v = isIP(ip)
  if (!v) throw new TypeError(`trusted proxy ${JSON.stringify(cidr)} is not an IP address or CIDR`)
  const type = v === 6 ? 'ipv6' : 'ipv4'
  if (bits === undefined) return list.addAddress(ip, type)
  const n = Number(bits)
  if (!Number.isInteger(n) || n < 0 || n > (v === 6 ? 128 : 32))
    throw new TypeError(`trusted proxy ${JSON.stringify(cidr)} has a bad prefix length`)
  list.addSubnet(ip, n, type)
}

/** Validates a CIDR for config checking; returns a problem or undefined. */
export function cidrProblem(cidr: string): string | undefined {
  try {
    addCidr(new BlockList(), cidr)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

function xffHops(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const joined = Array.isArray(value) ? value.join(',') : value
  return joined
    .split(',')
    .map(withoutPort)
    .filter((s) => s !== '')
}

const V4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/
const V6_PORT = /^\[([0-9A-Fa-f:.]+)\]:\d{1,5}$/

/**
 * An X-Forwarded-For hop without the port some proxies add (`203.0.113.7:51234`,
 * `[2001:db8::1]:443`, e.g. Azure Application Gateway): with it, the hop is no IP and the
 * walk would stop at the proxy, making every client behind it one client.
 */
function withoutPort(hop: string): string {
  const s = hop.trim()
  const m = V4_PORT.exec(s) ?? V6_PORT.exec(s)
  return m ? m[1]! : s
}

/** The `for=` values of RFC 7239 `Forwarded` elements, in order. */
export function forwardedFor(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const joined = Array.isArray(value) ? value.join(',') : value
  const out: string[] = []
  for (const element of joined.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
      let v = pair.slice(eq + 1).trim()
      if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1)
      // RFC 7239 §6: IPv6 is bracketed and either form may carry a port.
      if (v.startsWith('[')) v = v.slice(1, v.indexOf(']') > 0 ? v.indexOf(']') : undefined)
      else if (v.includes(':') && v.indexOf(':') === v.lastIndexOf(':'))
        v = v.slice(0, v.indexOf(':'))
      out.push(v)
    }
  }
  return out
}

/** Canonical text of an IP ('' when it is not one); IPv4-mapped IPv6 becomes IPv4. */
export function normalizeIp(raw: string): string {
  let ip = raw.trim()
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1)
  const v = isIP(ip)
  if (v === 4) return ip
  if (v !== 6) return ''
  const lower = ip.toLowerCase()
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7)
  return compressV6(expandV6(lower))
}

/** The group an IP belongs to: itself for IPv4, `prefix::/N` for IPv6. */
export function ipGroup(ip: string, v6prefix: number): string {
  if (isIP(ip) !== 6) return ip
  const h = expandV6(ip)
  let bits = v6prefix
  for (let i = 0; i < 8; i++) {
    if (bits >= 16) bits -= 16
    else {
      h[i] = bits === 0 ? 0 : h[i]! & (0xffff << (16 - bits)) & 0xffff
      bits = 0
    }
  }
  return `${compressV6(h)}/${v6prefix}`
}

function expandV6(ip: string): number[] {
  const zone = ip.indexOf('%')
  if (zone >= 0) ip = ip.slice(0, zone)
  let head: string[]
  let tail: string[] = []
  const dbl = ip.indexOf('::')
  if (dbl >= 0) {
    head = ip.slice(0, dbl) ? ip.slice(0, dbl).split(':') : []
    tail = ip.slice(dbl + 2) ? ip.slice(dbl + 2).split(':') : []
  } else head = ip.split(':')
  const toWords = (parts: string[]) =>
    parts.flatMap((p) => {
      if (p.includes('.')) {
        const [a, b, c, d] = p.split('.').map(Number) as [number, number, number, number]
        return [(a << 8) | b, (c << 8) | d]
      }
      return [parseInt(p, 16)]
    })
  const h = toWords(head)
  const t = toWords(tail)
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
}

function compressV6(words: readonly number[]): string {
  // RFC 5952: the longest run (≥ 2) of zero words becomes "::", the first one on ties.
  let bestAt = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j
  }
  const hex = words.map((w) => w.toString(16))
  if (bestAt < 0) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`
}
