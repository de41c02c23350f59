/**
 * The demo upstream: a small shop JSON API on plain `node:http` with in-memory data. Bulwark
 * protects it in the demo, the tests and the benchmarks. Like a real backend it signs its own
 * RS256 tokens, publishes a JWKS and verifies bearer tokens on its protected routes.
 *
 * Owns: one `http.Server`, its key pair, users, carts and the `received` log. Calls `node:http`,
 * `node:crypto` and `jose`. Called by `examples/shop/main.ts`, the tests and the benchmarks.
 * @see ./README.md
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from 'jose'

/** Options for {@link startShop}. */
export interface ShopOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number
  /** Interface to bind; default `127.0.0.1`. */
  host?: string
  /** `iss` of issued tokens and of the discovery document; default the shop's own url. */
  issuer?: string
}

/** One request as the shop saw it, before routing. */
export interface ReceivedRequest {
  method: string
  /** The raw request target, exactly as sent (path and query, not normalised). */
  url: string
  headers: Record<string, string | string[] | undefined>
  /** Body as UTF-8 text, first 64 KiB only; `''` for `POST /api/upload`, which is streamed. */
  body: string
}

/** A running shop. */
export interface Shop {
  /** `http://HOST:PORT`, no trailing slash. */
  url: string
  port: number
  /** The last 200 requests, newest last. */
  received: ReceivedRequest[]
  /**
   * Signs an RS256 JWT with the shop's key. `iss`, `aud` ('shop-api') and `exp` (15 min, or
   * `opts.expiresIn`) are defaults: claims passed here win, so tests can mint bad tokens.
   */
  issueToken(
    claims: { sub: string; scope?: string; [k: string]: unknown },
    opts?: { expiresIn?: string },
  ): Promise<string>
  /** Stops listening and drops open connections. Safe to call twice. */
  close(): Promise<void>
}

const AUDIENCE = 'shop-api'
const RECEIVED_CAP = 200
const RECORD_BYTES = 64 * 1024
/** Largest body a JSON route reads; bigger bodies are counted, not kept, and answered 413. */
const MAX_BODY = 1024 * 1024
const MAX_CARTS = 10_000
const MAX_USERS = 10_000

interface Product {
  id: number
  name: string
  /** In cents, so totals stay exact. */
  price: number
}

const ADJECTIVES = 'Red Blue Green Black White Oak Steel Linen Wool Glass'.split(' ')
const NOUNS = 'Mug Lamp Chair Scarf Notebook'.split(' ')

/** 50 products, ids 1..50: every adjective with every noun, prices 4.99 to 53.99. */
const PRODUCTS: readonly Product[] = Array.from({ length: 50 }, (_, i) => ({
  id: i + 1,
  name: `${ADJECTIVES[i % 10]} ${NOUNS[Math.floor(i / 10)]}`,
  price: 499 + ((i * 37) % 50) * 100,
}))

interface User {
  username: string
  password: string
  email: string
  scope: string
  role: string
}

/** alice and bob shop; admin also holds `admin_access`. Each password is `<name>-pw`. */
function seedUsers(): Map<string, User> {
  const seed = (username: string, scope: string, role: string): [string, User] => [
    username,
    { username, password: `${username}-pw`, email: `${username}@shop.test`, scope, role },
  ]
  return new Map([
    seed('alice', 'shop', 'customer'),
    seed('bob', 'shop', 'customer'),
    seed('admin', 'shop admin_access', 'admin'),
  ])
}

function publicUser(u: User): { username: string; email: string; role: string } {
  return { username: u.username, email: u.email, role: u.role }
}

/** A 4xx thrown by a helper deep in a handler; `handle` turns it into `{ error }`. */
class HttpError extends Error {
  readonly status: number
  readonly headers: Record<string, string>
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.status = status
    this.headers = headers
  }
}

interface Reply {
  status: number
  json: unknown
  headers?: Record<string, string>
}

type Claims = JWTPayload & { sub: string; scope?: string }

interface Ctx {
  req: IncomingMessage
  query: URLSearchParams
  /** Capture groups of a RegExp route. */
  params: string[]
  /** Total body bytes received (only the first `MAX_BODY` are kept). */
  bodyBytes: number
  /** The body as JSON or form fields; `{}` when empty. Throws 400 / 413. */
  body(): Record<string, unknown>
  /** Verified bearer-token claims, or undefined when absent or invalid. */
  claims(): Promise<Claims | undefined>
}

type Handler = (ctx: Ctx) => Reply | Promise<Reply>

interface Route {
  path: string | RegExp
  /** Upper-case methods; `ANY` matches every method. */
  methods: Record<string, Handler>
  /** The handler reads `req` itself; the body is neither buffered nor recorded. */
  stream?: boolean
}

const ok = (json: unknown, status = 200): Reply => ({ status, json })

/** Reads the whole body, keeping at most `keep` bytes, so a huge body costs no memory. */
async function consume(
  req: IncomingMessage,
  keep: number,
): Promise<{ raw: Buffer; bytes: number }> {
  const chunks: Buffer[] = []
  let kept = 0
  let bytes = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (kept < keep) {
      const part = chunk.subarray(0, keep - kept)
      chunks.push(part)
      kept += part.length
    }
  }
  return { raw: Buffer.concat(chunks), bytes }
}

function parseBody(req: IncomingMessage, raw: Buffer, bytes: number): Record<string, unknown> {
  if (bytes > raw.length) throw new HttpError(413, 'payload too large')
  if (raw.length === 0) return {}
  const text = raw.toString('utf8')
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text))
  }
  // Anything else is read as JSON: fetch() sends text/plain for a bare string body.
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'malformed json')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'body must be a JSON object')
  }
  return value as Record<string, unknown>
}

/** Positive safe integer from a number, or from a digit string (form bodies are all strings). */
function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim() || undefined
  }
  return undefined
}

/**
 * Splits the target by hand: `new URL('//x/y', base)` would read `x` as a host and route `/y`.
 */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const q = target.indexOf('?')
  return q < 0
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) }
}

function send(res: ServerResponse, reply: Reply): void {
  const payload = JSON.stringify(reply.json)
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  })
  res.end(payload)
}

interface State {
  url: () => string
  issuer: () => string
  jwks: unknown
  users: Map<string, User>
  /** Cart key → productId → quantity; insertion order is recency, oldest evicted first. */
  carts: Map<string, Map<number, number>>
  nextOrder: number
  issueToken: Shop['issueToken']
}

async function requireClaims(ctx: Ctx): Promise<Claims> {
  const claims = await ctx.claims()
  if (!claims) throw new HttpError(401, 'unauthorized', { 'www-authenticate': 'Bearer' })
  return claims
}

/** A valid token keys the cart by `sub`; otherwise the `sid` cookie, minted when absent. */
async function cartKey(ctx: Ctx): Promise<{ key: string; headers?: Record<string, string> }> {
  const claims = await ctx.claims()
  if (claims) return { key: `user:${claims.sub}` }
  const sid = cookie(ctx.req, 'sid')
  if (sid) return { key: `sid:${sid}` }
  const fresh = randomBytes(16).toString('base64url')
  return {
    key: `sid:${fresh}`,
    headers: { 'set-cookie': `sid=${fresh}; Path=/; HttpOnly; SameSite=Lax` },
  }
}

function viewCart(lines: Map<number, number> | undefined) {
  const items = [...(lines ?? [])].map(([productId, quantity]) => {
    const p = PRODUCTS[productId - 1]!
    return { productId, name: p.name, price: p.price, quantity }
  })
  return { items, total: items.reduce((sum, i) => sum + i.price * i.quantity, 0) }
}

function routes(s: State): Route[] {
  const product = (id: unknown): Product => {
    const n = positiveInt(id)
    const p = n === undefined ? undefined : PRODUCTS[n - 1]
    if (!p) throw new HttpError(404, 'product not found')
    return p
  }

  return [
    { path: '/health', methods: { GET: () => ok({ ok: true }) } },
    { path: '/.well-known/jwks.json', methods: { GET: () => ok(s.jwks) } },
    {
      path: '/.well-known/openid-configuration',
      methods: {
        GET: () => ok({ issuer: s.issuer(), jwks_uri: `${s.url()}/.well-known/jwks.json` }),
      },
    },
    {
      path: '/api/login',
      methods: {
        async POST(ctx) {
          const { username, password } = ctx.body()
          if (typeof username !== 'string' || typeof password !== 'string') {
            throw new HttpError(400, 'username and password are required')
          }
          const user = s.users.get(username.toLowerCase())
          if (!user || user.password !== password) return ok({ error: 'invalid credentials' }, 401)
          const token = await s.issueToken({
            sub: user.username,
            scope: user.scope,
            role: user.role,
          })
          return ok({ token, user: publicUser(user) })
        },
      },
    },
    {
      path: '/api/signup',
      methods: {
        POST(ctx) {
          const body = ctx.body()
          const [name, password, email] = [str(body.username), str(body.password), str(body.email)]
          if (!name || !password || !email) {
            throw new HttpError(400, 'username, password and email are required')
          }
          const username = name.toLowerCase()
          if (s.users.has(username)) return ok({ error: 'username taken' }, 409)
          if (s.users.size >= MAX_USERS) return ok({ error: 'signups closed' }, 503)
          const user: User = { username, password, email, scope: 'shop', role: 'customer' }
          s.users.set(username, user)
          return ok({ user: publicUser(user) }, 201)
        },
      },
    },
    {
      path: '/api/products',
      methods: {
        GET(ctx) {
          const page = positiveInt(ctx.query.get('page') ?? '1')
          const limit = positiveInt(ctx.query.get('limit') ?? '20')
          if (!page || !limit || limit > 100) {
            throw new HttpError(400, 'page must be a positive integer and limit 1..100')
          }
          const items = PRODUCTS.slice((page - 1) * limit, page * limit)
          return ok({ items, page, total: PRODUCTS.length })
        },
      },
    },
    { path: /^\/api\/products\/([^/]+)$/, methods: { GET: (ctx) => ok(product(ctx.params[0])) } },
    {
      path: '/api/search',
      methods: {
        GET(ctx) {
          const q = (ctx.query.get('q') ?? '').toLowerCase()
          return ok({ items: PRODUCTS.filter((p) => p.name.toLowerCase().includes(q)) })
        },
      },
    },
    {
      path: '/api/cart',
      methods: {
        async GET(ctx) {
          const { key, headers } = await cartKey(ctx)
          return { ...ok(viewCart(s.carts.get(key))), headers }
        },
        async POST(ctx) {
          const body = ctx.body()
          const quantity = positiveInt(body.quantity)
          if (!quantity) throw new HttpError(400, 'quantity must be a positive integer')
          const p = product(body.productId)
          const { key, headers } = await cartKey(ctx)
          const lines = s.carts.get(key) ?? new Map<number, number>()
          lines.set(p.id, (lines.get(p.id) ?? 0) + quantity)
          s.carts.delete(key) // re-insert: most recently used last
          s.carts.set(key, lines)
          if (s.carts.size > MAX_CARTS) s.carts.delete(s.carts.keys().next().value!)
          return { ...ok(viewCart(lines)), headers }
        },
        async DELETE(ctx) {
          const { key, headers } = await cartKey(ctx)
          s.carts.delete(key)
          return { ...ok(viewCart(undefined)), headers }
        },
      },
    },
    {
      path: '/api/checkout',
      methods: {
        async POST(ctx) {
          const { paymentToken } = ctx.body()
          if (paymentToken !== undefined && typeof paymentToken !== 'string') {
            throw new HttpError(400, 'paymentToken must be a string')
          }
          const { key, headers } = await cartKey(ctx)
          const lines = s.carts.get(key)
          if (!lines || lines.size === 0) return { ...ok({ error: 'cart is empty' }, 400), headers }
          s.carts.delete(key)
          const orderId = `ord_${s.nextOrder++}`
          return { ...ok({ orderId, total: viewCart(lines).total }, 201), headers }
        },
      },
    },
    {
      path: '/api/account',
      methods: {
        async GET(ctx) {
          const { sub } = await requireClaims(ctx)
          const user = s.users.get(sub)
          // A token minted by issueToken() may name a user the shop never stored.
          return ok({ user: user ? publicUser(user) : { username: sub } })
        },
      },
    },
    {
      path: '/api/account/password',
      methods: {
        async POST(ctx) {
          const { sub } = await requireClaims(ctx)
          const { oldPassword, newPassword } = ctx.body()
          const next = str(newPassword)
          if (typeof oldPassword !== 'string' || !next) {
            throw new HttpError(400, 'oldPassword and newPassword are required')
          }
          const user = s.users.get(sub)
          if (!user) throw new HttpError(404, 'user not found')
          if (user.password !== oldPassword) return ok({ error: 'invalid credentials' }, 403)
          user.password = next
          return ok({ ok: true })
        },
      },
    },
    {
      path: '/api/admin/users',
      methods: {
        async GET(ctx) {
          const { scope } = await requireClaims(ctx)
          const scopes = typeof scope === 'string' ? scope.split(/\s+/) : []
          if (!scopes.includes('admin_access')) return ok({ error: 'forbidden' }, 403)
          return ok({ users: [...s.users.values()].map(publicUser) })
        },
      },
    },
    {
      path: '/api/upload',
      stream: true,
      methods: {
        async POST(ctx) {
          const hash = createHash('sha256')
          let bytes = 0
          for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
            hash.update(chunk)
            bytes += chunk.length
          }
          return ok({ bytes, sha256: hash.digest('hex') })
        },
      },
    },
    {
      path: /^\/__echo(?:\/.*)?$/,
      methods: {
        ANY: ({ req, bodyBytes }) =>
          ok({ method: req.method, url: req.url, headers: req.headers, bodyBytes }),
      },
    },
  ]
}

function findRoute(table: Route[], path: string): { route: Route; params: string[] } | undefined {
  for (const route of table) {
    if (route.path === path) return { route, params: [] }
    if (route.path instanceof RegExp) {
      const m = route.path.exec(path)
      if (m) return { route, params: m.slice(1) }
    }
  }
  return undefined
}

/** HEAD is served by the GET handler; node drops the body of a HEAD response itself. */
function pickHandler(route: Route, method: string): Handler | undefined {
  const m = route.methods
  return m[method] ?? (method === 'HEAD' ? m.GET : undefined) ?? m.ANY
}

function allow(route: Route): string {
  const methods = Object.keys(route.methods)
  return (methods.includes('GET') ? [...methods, 'HEAD'] : methods).join(', ')
}

/**
 * Starts the shop and resolves once it listens.
 * @example
 * const shop = await startShop({ port: 0 })
 * const token = await shop.issueToken({ sub: 'alice', scope: 'shop' })
 * await fetch(`${shop.url}/api/account`, { headers: { authorization: `Bearer ${token}` } })
 * await shop.close()
 * @see ./README.md
 */
export async function startShop(opts: ShopOptions = {}): Promise<Shop> {
  const host = opts.host ?? '127.0.0.1'
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  let url = ''
  const issuer = (): string => opts.issuer ?? url

  const issueToken: Shop['issueToken'] = async (claims, tokenOpts) => {
    // One clock reading for iat and exp, so a token never straddles a second boundary.
    const now = Math.floor(Date.now() / 1000)
    const jwt = new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuedAt(now)
    if (claims.iss === undefined) jwt.setIssuer(issuer())
    if (claims.aud === undefined) jwt.setAudience(AUDIENCE)
    if (claims.exp === undefined)
      jwt.setExpirationTime(now + secondsOf(tokenOpts?.expiresIn ?? '15m'))
    return jwt.sign(privateKey)
  }

  const verify = async (req: IncomingMessage): Promise<Claims | undefined> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
    if (!m) return undefined
    try {
      const { payload } = await jwtVerify(m[1]!, publicKey, {
        issuer: issuer(),
        audience: AUDIENCE,
        algorithms: ['RS256'],
      })
      return typeof payload.sub === 'string' ? (payload as Claims) : undefined
    } catch {
      return undefined
    }
  }

  const state: State = {
    url: () => url,
    issuer,
    jwks: { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] },
    users: seedUsers(),
    carts: new Map(),
    nextOrder: 1,
    issueToken,
  }
  const table = routes(state)
  const received: ReceivedRequest[] = []

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry: ReceivedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: { ...req.headers },
      body: '',
    }
    received.push(entry)
    if (received.length > RECEIVED_CAP) received.shift()

    const { path, query } = splitTarget(entry.url)
    const found = findRoute(table, path)
    const handler = found && pickHandler(found.route, entry.method)
    let reply: Reply
    try {
      const streamed = handler !== undefined && found!.route.stream === true
      const { raw, bytes } = streamed
        ? { raw: Buffer.alloc(0), bytes: 0 }
        : await consume(req, MAX_BODY)
      entry.body = raw.subarray(0, RECORD_BYTES).toString('utf8')
      if (!found) reply = ok({ error: 'not found' }, 404)
      else if (!handler) {
        reply = {
          ...ok({ error: 'method not allowed' }, 405),
          headers: { allow: allow(found.route) },
        }
      } else {
        let claims: Promise<Claims | undefined> | undefined
        reply = await handler({
          req,
          query,
          params: found.params,
          bodyBytes: bytes,
          body: () => parseBody(req, raw, bytes),
          claims: () => (claims ??= verify(req)),
        })
      }
    } catch (err) {
      if (err instanceof HttpError) {
        reply = { ...ok({ error: err.message }, err.status), headers: err.headers }
      } else if (req.destroyed) {
        return // client went away mid-body; nobody to answer
      } else {
        reply = ok({ error: 'internal error', detail: String(err) }, 500)
      }
    }
    send(res, reply)
  }

  const server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()))
      server.closeAllConnections()
    }))

  return { url, port, received, issueToken, close }
}

/** `'15m'` → 900, `'-1m'` → -60 (s, m, h, d). */
function secondsOf(span: string): number {
  const m = /^(-?\d+)\s*([smhd])$/.exec(span.trim())
  if (!m) throw new TypeError(`expiresIn: expected a span like "15m", got ${JSON.stringify(span)}`)
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd']
}
