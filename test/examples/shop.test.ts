import { createHash, randomBytes } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'

let shop: Shop

beforeAll(async () => {
  shop = await startShop({ port: 0 })
})

afterAll(async () => {
  await shop.close()
})

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${shop.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

async function login(username: string, password: string): Promise<string> {
  const res = await post('/api/login', { username, password })
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('shop: start', () => {
  it('listens on a free port and reports its url', async () => {
    expect(shop.port).toBeGreaterThan(0)
    expect(shop.url).toBe(`http://127.0.0.1:${shop.port}`)
    const res = await fetch(`${shop.url}/health`)
    expect(await res.json()).toEqual({ ok: true })
  })
})

describe('shop: login and tokens', () => {
  it('logs alice in and returns a token that verifies against the JWKS', async () => {
    const res = await post('/api/login', { username: 'Alice', password: 'alice-pw' })
    expect(res.status).toBe(200)
    const { token, user } = (await res.json()) as { token: string; user: unknown }
    expect(user).toEqual({ username: 'alice', email: 'alice@shop.test', role: 'customer' })

    const jwks = createRemoteJWKSet(new URL(`${shop.url}/.well-known/jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: shop.url,
      audience: 'shop-api',
    })
    expect(payload).toMatchObject({ sub: 'alice', scope: 'shop', iss: shop.url, aud: 'shop-api' })
    expect(payload.exp! - payload.iat!).toBe(15 * 60)
    expect(protectedHeader.alg).toBe('RS256')
    expect(protectedHeader.kid).toEqual(expect.any(String))
  })

  it('publishes a discovery document naming the issuer and JWKS', async () => {
    const res = await fetch(`${shop.url}/.well-known/openid-configuration`)
    expect(await res.json()).toEqual({
      issuer: shop.url,
      jwks_uri: `${shop.url}/.well-known/jwks.json`,
    })
  })

  it('rejects a wrong password with 401', async () => {
    const res = await post('/api/login', { username: 'alice', password: 'nope' })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'invalid credentials' })
  })

  it('accepts form-encoded credentials', async () => {
    const res = await fetch(`${shop.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=bob&password=bob-pw',
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { user: { username: string } }).user.username).toBe('bob')
  })

  it('answers malformed JSON with 400', async () => {
    const res = await fetch(`${shop.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'malformed json' })
  })

  it('uses the issuer option for iss and discovery', async () => {
    const other = await startShop({ port: 0, issuer: 'https://id.shop.test' })
    try {
      const token = await other.issueToken({ sub: 'carol' })
      const jwks = createRemoteJWKSet(new URL(`${other.url}/.well-known/jwks.json`))
      const { payload } = await jwtVerify(token, jwks, { issuer: 'https://id.shop.test' })
      expect(payload.sub).toBe('carol')
      const account = await fetch(`${other.url}/api/account`, { headers: bearer(token) })
      expect(await account.json()).toEqual({ user: { username: 'carol' } })
    } finally {
      await other.close()
    }
  })
})

describe('shop: signup', () => {
  it('creates a user once, then answers 409; missing fields are 400', async () => {
    const body = { username: 'dave', password: 'dave-pw', email: 'dave@shop.test' }
    const created = await post('/api/signup', body)
    expect(created.status).toBe(201)
    expect(await created.json()).toEqual({
      user: { username: 'dave', email: 'dave@shop.test', role: 'customer' },
    })
    expect((await post('/api/signup', { ...body, username: 'DAVE' })).status).toBe(409)
    expect((await post('/api/signup', { username: 'erin' })).status).toBe(400)
    expect(await login('dave', 'dave-pw')).toMatch(/^ey/)
  })
})

describe('shop: products', () => {
  it('pages the catalogue', async () => {
    const res = await fetch(`${shop.url}/api/products?page=3&limit=20`)
    const body = (await res.json()) as { items: { id: number }[]; page: number; total: number }
    expect(body.page).toBe(3)
    expect(body.total).toBe(50)
    expect(body.items.map((p) => p.id)).toEqual(Array.from({ length: 10 }, (_, i) => 41 + i))
  })

  it('returns one product, and 404 for an unknown id', async () => {
    const found = await fetch(`${shop.url}/api/products/7`)
    expect(found.status).toBe(200)
    expect(await found.json()).toMatchObject({ id: 7, name: expect.any(String) })
    const missing = await fetch(`${shop.url}/api/products/51`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: 'product not found' })
  })

  it('searches by name substring', async () => {
    const res = await fetch(`${shop.url}/api/search?q=mug`)
    const { items } = (await res.json()) as { items: { name: string }[] }
    expect(items).toHaveLength(10)
    expect(items.every((p) => p.name.endsWith('Mug'))).toBe(true)
  })
})

describe('shop: cart and checkout', () => {
  it('adds to the token holder’s cart, checks out, then the cart is empty', async () => {
    const token = await login('bob', 'bob-pw')
    const price = ((await (await fetch(`${shop.url}/api/products/3`)).json()) as { price: number })
      .price
    const added = await post('/api/cart', { productId: 3, quantity: 2 }, bearer(token))
    expect(added.status).toBe(200)
    expect(await added.json()).toEqual({
      items: [{ productId: 3, name: expect.any(String), price, quantity: 2 }],
      total: 2 * price,
    })

    const order = await post('/api/checkout', { paymentToken: 'tok_visa' }, bearer(token))
    expect(order.status).toBe(201)
    expect(await order.json()).toEqual({
      orderId: expect.stringMatching(/^ord_/),
      total: 2 * price,
    })

    const after = await fetch(`${shop.url}/api/cart`, { headers: bearer(token) })
    expect(await after.json()).toEqual({ items: [], total: 0 })
  })

  it('keys an anonymous cart by the sid cookie it sets', async () => {
    const first = await post('/api/cart', { productId: '5', quantity: '1' })
    const sid = /^sid=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')?.[1]
    expect(sid).toBeDefined()
    const again = await fetch(`${shop.url}/api/cart`, { headers: { cookie: `sid=${sid}` } })
    expect(again.headers.get('set-cookie')).toBeNull()
    expect(((await again.json()) as { items: unknown[] }).items).toHaveLength(1)
  })

  it('refuses checkout of an empty cart with 400', async () => {
    const token = await shop.issueToken({ sub: 'nobody-shopping' })
    const res = await post('/api/checkout', {}, bearer(token))
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'cart is empty' })
  })

  it('rejects a non-positive quantity with 400', async () => {
    const res = await post('/api/cart', { productId: 1, quantity: 0 })
    expect(res.status).toBe(400)
  })
})

describe('shop: protected routes', () => {
  it('requires a valid token for the account', async () => {
    const none = await fetch(`${shop.url}/api/account`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    const expired = await shop.issueToken({ sub: 'alice' }, { expiresIn: '-1m' })
    expect((await fetch(`${shop.url}/api/account`, { headers: bearer(expired) })).status).toBe(401)
    const wrongAud = await shop.issueToken({ sub: 'alice', aud: 'other-api' })
    expect((await fetch(`${shop.url}/api/account`, { headers: bearer(wrongAud) })).status).toBe(401)
  })

  it('forbids the admin route to alice and serves it to admin', async () => {
    const alice = await login('alice', 'alice-pw')
    const denied = await fetch(`${shop.url}/api/admin/users`, { headers: bearer(alice) })
    expect(denied.status).toBe(403)
    expect(await denied.json()).toEqual({ error: 'forbidden' })

    const admin = await login('admin', 'admin-pw')
    const allowed = await fetch(`${shop.url}/api/admin/users`, { headers: bearer(admin) })
    expect(allowed.status).toBe(200)
    const { users } = (await allowed.json()) as { users: { username: string }[] }
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(['alice', 'bob', 'admin']))
  })

  it('does not take admin_access_lite for admin_access', async () => {
    const token = await shop.issueToken({ sub: 'mallory', scope: 'shop admin_access_lite' })
    const res = await fetch(`${shop.url}/api/admin/users`, { headers: bearer(token) })
    expect(res.status).toBe(403)
  })

  it('changes a password only with the old one', async () => {
    await post('/api/signup', { username: 'frank', password: 'old-pw', email: 'f@shop.test' })
    const token = await login('frank', 'old-pw')
    const wrong = await post(
      '/api/account/password',
      { oldPassword: 'x', newPassword: 'y' },
      bearer(token),
    )
    expect(wrong.status).toBe(403)
    const right = await post(
      '/api/account/password',
      { oldPassword: 'old-pw', newPassword: 'new-pw' },
      bearer(token),
    )
    expect(right.status).toBe(200)
    expect(await login('frank', 'new-pw')).toMatch(/^ey/)
  })
})

describe('shop: upload', () => {
  it('streams a 5 MB body and reports its size and sha256', async () => {
    const data = randomBytes(5 * 1024 * 1024)
    const res = await fetch(`${shop.url}/api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    })
    const seen = shop.received.findLast((r) => r.url === '/api/upload')
    expect(seen?.body).toBe('')
  })
})

describe('shop: routing', () => {
  it('answers a wrong method with 405 and an Allow header', async () => {
    const res = await fetch(`${shop.url}/api/login`)
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    const cart = await fetch(`${shop.url}/api/cart`, { method: 'PUT' })
    expect(cart.headers.get('allow')).toBe('GET, POST, DELETE, HEAD')
  })

  it('answers an unknown route with 404', async () => {
    const res = await fetch(`${shop.url}/api/nope`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'not found' })
  })

  it('echoes what reached it', async () => {
    const res = await fetch(`${shop.url}/__echo/a/b?x=1`, {
      method: 'PATCH',
      headers: { 'x-probe': 'yes' },
      body: 'hello',
    })
    expect(await res.json()).toMatchObject({
      method: 'PATCH',
      url: '/__echo/a/b?x=1',
      headers: { 'x-probe': 'yes' },
      bodyBytes: 5,
    })
  })
})

describe('shop: received', () => {
  it('records the raw url, headers and body of each request', async () => {
    const raw = '/api/search?q=Red%20Mug&q=%zz&x=../y'
    await fetch(`${shop.url}${raw}`, { headers: { 'x-trace': 't1' } })
    await post('/__echo/body', { hello: 'world' })
    const search = shop.received.find((r) => r.headers['x-trace'] === 't1')
    expect(search).toMatchObject({ method: 'GET', url: raw, body: '' })
    expect(shop.received.at(-1)).toMatchObject({
      method: 'POST',
      url: '/__echo/body',
      body: '{"hello":"world"}',
    })
  })

  it('keeps only the last 200 requests, newest last', async () => {
    for (let i = 0; i < 205; i++) await fetch(`${shop.url}/__echo/n/${i}`)
    expect(shop.received).toHaveLength(200)
    expect(shop.received.at(-1)!.url).toBe('/__echo/n/204')
  })

  it('records only the first 64 KiB of a body', async () => {
    await fetch(`${shop.url}/__echo/big`, { method: 'POST', body: 'a'.repeat(100_000) })
    expect(shop.received.at(-1)!.body).toHaveLength(64 * 1024)
  })
})
