/**
 * Token issuers for the auth tests:
 * - `startIdp()`: a real OpenID provider (`oidc-provider`) on a loopback port, with generated
 *   RS256 and ES256 keys, issuing JWT access tokens by the client_credentials grant. Its keys
 *   can be rotated and retired (the provider is rebuilt behind the same listener, as an IdP
 *   reloading its keystore would be), and it can be made unreachable.
 * - `testKeys()` + `startJwksServer()`: keys and tokens made directly with jose, for engine
 *   tests and for the attack cases a real IdP would never sign.
 * @see ../../src/layers/auth/verify.ts
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose'

/** The part of oidc-provider's API used here (the package ships no type declarations). */
interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void
}
type ProviderClass = new (issuer: string, config: Record<string, unknown>) => Provider

/** Loaded on first use, so tests that only need jose keys do not load the provider. */
async function providerClass(): Promise<ProviderClass> {
  // A string-typed specifier: TypeScript does not look for the missing declarations.
  const mod = (await import('oidc-provider' as string)) as { default: ProviderClass }
  return mod.default
}

export const AUDIENCE = 'shop-api'

/** A running OpenID provider. */
export interface TestIdp {
  readonly issuer: string
  readonly jwksUri: string
  /** How many times `/jwks` was asked for. */
  readonly jwksFetches: () => number
  /** An access token for `client` (`svc`: RS256, scope "shop admin_access"; `es`: ES256, "shop"). */
  token(client?: 'svc' | 'es', scope?: string): Promise<string>
  /** Kids currently published, newest first. */
  kids(): string[]
  /** New keys sign from now on; the old ones stay published (the first half of a rotation). */
  rotate(): Promise<void>
  /** Only the newest keys stay published (the second half). */
  retire(): Promise<void>
  /** While true, every connection is reset: the IdP is unreachable. */
  setDown(down: boolean): void
  close(): Promise<void>
}

interface KeyGen {
  readonly rsa: JWK
  readonly ec: JWK
}

let generation = 0

async function keyGen(): Promise<KeyGen> {
  const n = ++generation
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const ec = await generateKeyPair('ES256', { extractable: true })
  return {
    rsa: { ...(await exportJWK(rsa.privateKey)), kid: `rsa-${n}`, alg: 'RS256', use: 'sig' },
    ec: { ...(await exportJWK(ec.privateKey)), kid: `ec-${n}`, alg: 'ES256', use: 'sig' },
  }
}

const CLIENTS = {
  svc: { scope: 'shop admin_access', alg: 'RS256', extra: { role: 'admin', tenant: 'acme' } },
  es: { scope: 'shop', alg: 'ES256', extra: { role: 'customer' } },
} as const

function provider(Provider: ProviderClass, issuer: string, gens: readonly KeyGen[]): Provider {
  return new Provider(issuer, {
    jwks: { keys: gens.flatMap((g) => [g.rsa, g.ec]) },
    clients: Object.entries(CLIENTS).map(([id, c]) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: c.scope,
    })),
    scopes: ['openid', 'shop', 'admin_access'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://shop.test/api',
        useGrantedResource: () => true,
        getResourceServerInfo: (
          _ctx: unknown,
          _resource: string,
          client: { clientId: string },
        ) => ({
          scope: 'shop admin_access',
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: CLIENTS[client.clientId as keyof typeof CLIENTS].alg } },
        }),
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId: string }) =>
      CLIENTS[token.clientId as keyof typeof CLIENTS]?.extra,
  })
}

/**
 * Starts an OpenID provider on 127.0.0.1.
 * @example
 * const idp = await startIdp()
 * const token = await idp.token('svc')
 */
export async function startIdp(): Promise<TestIdp> {
  const Provider = await providerClass()
  let gens: KeyGen[] = [await keyGen()]
  let current: Provider | undefined
  let fetches = 0
  let down = false
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (down) return void req.socket.destroy()
    if (req.url === '/jwks') fetches++
    current!.callback()(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  current = provider(Provider, issuer, gens)

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    jwksFetches: () => fetches,
    async token(client = 'svc', scope = CLIENTS[client].scope) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
      })
      const body = (await res.json()) as { access_token?: string; error?: string }
      if (!body.access_token) throw new Error(`token request failed: ${JSON.stringify(body)}`)
      return body.access_token
    },
    kids: () => gens.flatMap((g) => [g.rsa.kid!, g.ec.kid!]),
    async rotate() {
      gens = [await keyGen(), ...gens]
      current = provider(Provider, issuer, gens)
    },
    async retire() {
      gens = gens.slice(0, 1)
      current = provider(Provider, issuer, gens)
    },
    setDown(d) {
      down = d
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A key pair made with jose, its public JWK (with kid) and a signer. */
export interface TestKey {
  readonly alg: 'RS256' | 'ES256' | 'PS256'
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  readonly jwk: JWK
}

export async function testKey(alg: TestKey['alg'], kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid } }
}

export interface SignOptions {
  /** Header parameters to add or override (`kid`, `jku`, `alg`…). */
  readonly header?: Record<string, unknown>
  /** Seconds since the epoch for `iat`; exp defaults to iat + 600. */
  readonly now?: number
}

/**
 * A signed token with `iss`, `aud`, `sub`, `iat`, `exp` defaults that `claims` override
 * (`undefined` removes one).
 */
export function sign(
  key: TestKey,
  issuer: string,
  claims: JWTPayload = {},
  opts: SignOptions = {},
): Promise<string> {
  const iat = opts.now ?? Math.floor(Date.now() / 1000)
  const payload: JWTPayload = { iss: issuer, aud: AUDIENCE, sub: 'alice', iat, exp: iat + 600 }
  for (const [k, v] of Object.entries(claims)) {
    if (v === undefined) delete payload[k]
    else payload[k] = v
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header } as never)
    .sign(key.privateKey)
}

/** A JWKS endpoint whose keys, availability and fetch count the test controls. */
export interface JwksServer {
  readonly url: string
  readonly fetches: () => number
  setKeys(keys: readonly JWK[]): void
  setDown(down: boolean): void
  close(): Promise<void>
}

export async function startJwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  let published = keys
  let fetches = 0
  let down = false
  const server = createServer((req, res) => {
    fetches++
    if (down) return void req.socket.destroy()
    const body = JSON.stringify({ keys: published })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    fetches: () => fetches,
    setKeys: (k) => void (published = k),
    setDown: (d) => void (down = d),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
