/**
 * Simulated client addresses. The simulator owns one socket address (loopback), so each client's
 * address travels in `X-Forwarded-For` and the gateway under test must trust the simulator as a
 * proxy. Addresses come from the documentation ranges (RFC 5737), the carrier-grade NAT range
 * (RFC 6598) and the benchmarking range (RFC 2544), so a simulated client can never be mistaken for a real one in a log.
 * Used by the scenarios; calls the Rng.
 * @see ../../docs/simulate.md#addresses
 */
import type { Rng } from './rng.js'

/** Where each kind of client comes from. One network per scenario keeps results apart. */
export const NETWORKS = {
  /** A company's NAT: every office worker shares it. */
  office: '198.51.100.10/32',
  /** Home connections, one address each. */
  homes: '198.51.100.64/26',
  /** A phone on home Wi-Fi… */
  wifi: '198.51.100.128/26',
  /** …and on its carrier's CGNAT. */
  carrier: '100.64.0.0/10',
  /** Bots: a residential-proxy pool per rotating bot, one address per single-IP bot. */
  stuffing: '203.0.113.0/25',
  scraping: '203.0.113.128/25',
  carding: '192.0.2.128/25',
  adaptive: '192.0.2.64/26',
  cracking: '192.0.2.10/32',
  scanning: '192.0.2.20/32',
  escalation: '192.0.2.30/32',
  /** RFC 2544's benchmarking range: never a real client either. */
  harvesting: '198.18.0.0/24',
} as const

/** Draws addresses from one IPv4 network. */
export interface IpPool {
  /**
   * A random host address of the network (never its network or broadcast address), none twice
   * until every one has been drawn (or 4096 have, in a large network).
   */
  draw(): string
}

/**
 * @example ipPool('203.0.113.0/25', rng).draw() // '203.0.113.77'
 */
export function ipPool(cidr: string, rng: Rng): IpPool {
  const [addr, bits = '32'] = cidr.split('/')
  const prefix = Number(bits)
  const base = addr!.split('.').reduce((n, octet) => n * 256 + Number(octet), 0)
  const size = 2 ** (32 - prefix)
  const network = base - (base % size)
  // A /31 or /32 has no network and broadcast addresses to skip.
  const [first, count] = size <= 2 ? [network, size] : [network + 1, size - 2]
  const used = new Set<number>()
  return {
    draw() {
      if (used.size >= Math.min(count, 4096)) used.clear()
      let n: number
      do n = first + rng.int(0, count - 1)
      while (used.has(n))
      used.add(n)
      return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
    },
  }
}
