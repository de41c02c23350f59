/** Reading one cookie from a Cookie header, and taking Bulwark's own out of it (src/request/cookie.ts). */
import { describe, expect, it } from 'vitest'
import { CONFLICTING, cookieValue, cookieValues, withoutCookie } from '../../src/request/cookie.js'

describe('cookieValue', () => {
  it('finds a cookie by its exact name, whitespace around pairs ignored', () => {
    expect(cookieValue('a=1;  sid = x ; b=2', 'sid')).toBe('x')
    expect(cookieValue('xsid=1; sidx=2', 'sid')).toBeUndefined()
    expect(cookieValue('sid=', 'sid')).toBeUndefined()
  })

  it('says a cookie sent twice with different values conflicts, and lists every value', () => {
    expect(cookieValue('sid=a; sid=a', 'sid')).toBe('a')
    expect(cookieValue('sid=a; sid=b', 'sid')).toBe(CONFLICTING)
    expect(cookieValues('d=x; a=1; d=; d=y', 'd')).toEqual(['x', 'y'])
  })
})

describe('withoutCookie', () => {
  it('takes out every pair of that name and keeps the rest in order', () => {
    expect(withoutCookie('a=1; bw_device=x; b=2', 'bw_device')).toBe('a=1; b=2')
    expect(withoutCookie('bw_device=x; a=1; bw_device=y', 'bw_device')).toBe('a=1')
    expect(withoutCookie('a=1;bw_device=x;b=2', 'bw_device')).toBe('a=1; b=2')
  })

  it("leaves '' when it was the only cookie", () => {
    expect(withoutCookie('bw_device=x', 'bw_device')).toBe('')
    expect(withoutCookie(' bw_device = x ; ', 'bw_device')).toBe('')
  })

  it('keeps look-alikes: a longer name, the name as a value, a pair without =', () => {
    expect(withoutCookie('bw_device2=1; x=bw_device', 'bw_device')).toBe(
      'bw_device2=1; x=bw_device',
    )
    expect(withoutCookie('flag; bw_device=x', 'bw_device')).toBe('flag')
    // A bare token of the same name is no value, but it is still that cookie: it goes too.
    expect(withoutCookie('bw_device; a=1', 'bw_device')).toBe('a=1')
  })
})
