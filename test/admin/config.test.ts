/**
 * The `admin:` config block and the admin listener's authentication pieces, without sockets:
 * defaults, the refusal of a non-loopback address without a token (with file, line and key
 * path), the token comparison, session cookies and the checks on each request.
 */
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { authorize, Sessions, SESSION_MS, tokenMatches } from '../../src/admin/auth.js'
import { isLoopback } from '../../src/admin/loopback.js'
import { parseGatewayConfig } from '../../src/config/gateway-config.js'

const TOKEN = 'correct-horse-battery-staple'

describe('admin config', () => {
  it('defaults to an enabled loopback listener on 9090 without a token', () => {
    expect(parseGatewayConfig('mode: enforce\n').admin).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 9090,
      recent: 2000,
    })
  })

  it('refuses a non-loopback host without a token, naming file, line and key', () => {
    const text = ['admin:', '  host: 0.0.0.0', '  port: 9100', ''].join('\n')
    expect(() => parseGatewayConfig(text)).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(
          /^bulwark\.yaml:1 admin\.token: required when admin\.host is not a loopback address \("0\.0\.0\.0"\): set one, e\.g\. token: \$\{BULWARK_ADMIN_TOKEN\}/,
        ),
      }),
    )
  })

  it('takes the token from the environment, and wants a long one', () => {
    const text = ['admin:', '  host: 0.0.0.0', '  token: ${BULWARK_ADMIN_TOKEN}', ''].join('\n')
    expect(parseGatewayConfig(text, 'b.yaml', { BULWARK_ADMIN_TOKEN: TOKEN }).admin.token).toBe(
      TOKEN,
    )
    expect(() => parseGatewayConfig(text, 'b.yaml', { BULWARK_ADMIN_TOKEN: 'short' })).toThrow(
      expect.objectContaining({
        message: 'b.yaml:3 admin.token: expected at least 16 characters, got 5',
      }),
    )
    // an empty token (`${BULWARK_ADMIN_TOKEN:-}`) is no token: fine on loopback only
    const optional = 'admin:\n  token: "${BULWARK_ADMIN_TOKEN:-}"\n'
    expect(parseGatewayConfig(optional, 'b.yaml', {}).admin.token).toBe('')
  })

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopback(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.nip.io'])
      expect(isLoopback(h), h).toBe(false)
  })
})

describe('admin authentication', () => {
  const req = (headers: Record<string, string>, method = 'GET') =>
    ({ method, headers: { host: '127.0.0.1:9090', ...headers } }) as unknown as IncomingMessage

  it('compares tokens in constant time, whatever their lengths', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true)
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false)
    expect(tokenMatches('', TOKEN)).toBe(false)
  })

  it('issues session cookies that expire and cannot be forged', () => {
    const s = new Sessions(TOKEN)
    const cookie = s.issue(1_000)
    expect(s.valid(cookie, 1_000 + SESSION_MS - 1)).toBe(true)
    expect(s.valid(cookie, 1_000 + SESSION_MS)).toBe(false)
    const [, sig] = cookie.split('.')
    expect(s.valid(`${1_000 + 2 * SESSION_MS}.${sig}`, 2_000)).toBe(false)
    expect(new Sessions(TOKEN).valid(cookie, 2_000)).toBe(false)
  })

  it('with a token: bearer or session cookie; cookie writes only from the same origin', () => {
    const s = new Sessions(TOKEN)
    const cookie = `bulwark_admin=${s.issue(0)}`
    expect(authorize(req({}), TOKEN, s, 1)).toMatchObject({ ok: false, status: 401 })
    expect(authorize(req({ authorization: `Bearer ${TOKEN}` }), TOKEN, s, 1)).toEqual({
      ok: true,
      via: 'bearer',
    })
    expect(authorize(req({ authorization: 'Bearer nope' }), TOKEN, s, 1)).toMatchObject({
      ok: false,
      status: 401,
    })
    expect(authorize(req({ cookie }), TOKEN, s, 1)).toEqual({ ok: true, via: 'cookie' })
    const fromEvil = req({ cookie, origin: 'https://evil.example' }, 'POST')
    expect(authorize(fromEvil, TOKEN, s, 1)).toMatchObject({ ok: false, status: 403 })
    const fromPage = req({ cookie, origin: 'http://127.0.0.1:9090' }, 'POST')
    expect(authorize(fromPage, TOKEN, s, 1)).toEqual({ ok: true, via: 'cookie' })
  })

  it('without a token: only a loopback Host, and no cross-origin writes', () => {
    expect(authorize(req({}), undefined, undefined, 1)).toEqual({ ok: true, via: 'none' })
    expect(authorize(req({ host: 'localhost:9090' }), undefined, undefined, 1).ok).toBe(true)
    expect(authorize(req({ host: 'attacker.example' }), undefined, undefined, 1)).toMatchObject({
      ok: false,
      status: 403,
    })
    const post = req({ origin: 'http://attacker.example' }, 'POST')
    expect(authorize(post, undefined, undefined, 1)).toMatchObject({ ok: false, status: 403 })
  })
})
