import { describe, expect, it } from 'vitest'
import { clientIpResolver, forwardedFor, ipGroup, normalizeIp } from '../../src/request/client.js'

describe('client IP', () => {
  const none = clientIpResolver({ trustedProxies: [], header: 'x-forwarded-for', ipv6Prefix: 64 })
  const trusted = clientIpResolver({
    trustedProxies: ['10.0.0.0/8', '2001:db8:ffff::/48'],
    header: 'x-forwarded-for',
    ipv6Prefix: 64,
  })

  it('uses the socket and ignores a spoofed X-Forwarded-For from an untrusted client', () => {
    const r = none('198.51.100.7', { 'x-forwarded-for': '1.2.3.4' })
    expect(r).toMatchObject({
      ip: '198.51.100.7',
      source: 'socket',
      hop: 0,
      ignoredForwarding: true,
    })
  })

  it('walks right to left past trusted hops', () => {
    const r = trusted('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.1.1' })
    expect(r).toMatchObject({ ip: '203.0.113.9', source: 'x-forwarded-for', hop: 2 })
  })

  it('does not believe the header when the socket is not a trusted proxy', () => {
    expect(trusted('203.0.113.50', { 'x-forwarded-for': '10.0.0.9' }).ip).toBe('203.0.113.50')
  })

  it('reads a hop that carries a port (some proxies add one) as its address', () => {
    expect(trusted('10.0.0.1', { 'x-forwarded-for': '203.0.113.9:51234' })).toMatchObject({
      ip: '203.0.113.9',
      source: 'x-forwarded-for',
    })
    expect(
      trusted('10.0.0.1', { 'x-forwarded-for': '[2001:db8::7]:443, 10.0.0.2:80' }),
    ).toMatchObject({
      ip: '2001:db8::7',
      hop: 2,
    })
  })

  it('stops at a hop that is not an IP', () => {
    expect(trusted('10.0.0.1', { 'x-forwarded-for': 'unknown' })).toMatchObject({
      ip: '10.0.0.1',
      source: 'socket',
    })
  })

  it('reads RFC 7239 Forwarded when the proxies are configured to set it', () => {
    const fwd = clientIpResolver({
      trustedProxies: ['10.0.0.0/8'],
      header: 'forwarded',
      ipv6Prefix: 64,
    })
    const r = fwd('10.0.0.1', {
      forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"',
      'x-forwarded-for': '9.9.9.9',
    })
    expect(r).toMatchObject({
      ip: '2001:db8:cafe::17',
      source: 'forwarded',
      hop: 1,
      ipPrefix: '2001:db8:cafe::/64',
    })
    expect(forwardedFor('for=192.0.2.43:8080;by=x')).toEqual(['192.0.2.43'])
  })

  it('groups IPv6 clients by prefix', () => {
    expect(ipGroup('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2::/64')
    expect(ipGroup('2001:db8:1:2ff:3:4:5:6', 56)).toBe('2001:db8:1:200::/56')
    expect(ipGroup('2001:db8:1:2:3:4:5:6', 48)).toBe('2001:db8:1::/48')
    expect(ipGroup('203.0.113.9', 64)).toBe('203.0.113.9')
    expect(none('2001:db8::1', {}).ipPrefix).toBe('2001:db8::/64')
  })

  it('normalises IPv6 text and IPv4-mapped addresses', () => {
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1')
    expect(normalizeIp('[::1]')).toBe('::1')
    expect(normalizeIp('nope')).toBe('')
  })

  it('rejects a malformed trusted proxy', () => {
    expect(() =>
      clientIpResolver({
        trustedProxies: ['10.0.0.0/40'],
        header: 'x-forwarded-for',
        ipv6Prefix: 64,
      }),
    ).toThrow(/bad prefix length/)
  })
})
