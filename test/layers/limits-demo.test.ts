/**
 * The demo's login limits (examples/shop/bulwark.yaml) in front of the real demo shop, from the
 * side of the people sharing a bot's browser fingerprint: an attacker who copies stock browser
 * headers and fails on purpose must not lock out everyone else who uses that browser, and the
 * device cookie must tell the bot (which throws cookies away, or is one device) from them.
 * People's browsers run the shop's page, which answers proof-of-work puzzles (`challenge`);
 * the bots here do not. Each test gets a gateway of its own (fresh counts), the shop is shared.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startShop, type Shop } from '../../examples/shop/shop.js'
import { readChallenge } from '../../src/challenge/client.js'
import { solveInNode } from '../../src/challenge/node.js'
import { ConfigSpec, type Config } from '../../src/config/schema.js'
import { deviceCookies } from '../../src/identity/device.js'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { demoConfig } from '../helpers/engine.js'

let shop: Shop
let gw: Gateway
let demo: Config

beforeAll(async () => {
  shop = await startShop({ port: 0 })
  demo = await demoConfig(shop.url)
})

beforeEach(async () => {
  const { upstreams, routes, identity, limits, challenge } = demo
  gw = await startGateway(
    ConfigSpec.parse({
      // The test client plays many networks through a trusted proxy's X-Forwarded-For.
      server: { ...demo.server, trustedProxies: ['127.0.0.1/32'] },
      upstreams,
      routes,
      identity,
      limits,
      // Cheap puzzles: the tests solve hundreds.
      challenge: { ...challenge!, bits: 8 },
    }),
    { port: 0, host: '127.0.0.1' },
  )
})

afterEach(async () => {
  await gw?.close()
})

afterAll(async () => {
  await shop?.close()
})

/** Stock desktop Chrome: the fingerprint a large share of real shoppers have. */
const CHROME = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br, zstd',
}

function login(
  ip: string,
  username: string,
  password: string,
  cookie?: string,
  headers: Record<string, string> = CHROME,
) {
  return fetch(`${gw.url}/api/login`, {
    method: 'POST',
    headers: {
      ...headers,
      'content-type': 'application/json',
      'x-forwarded-for': ip,
      ...(cookie ? { cookie } : {}),
    },
    body: JSON.stringify({ username, password }),
  })
}

/** What a client that does not answer puzzles sees: `'puzzle'` for a challenge, else the status. */
async function seen(res: Response): Promise<number | 'puzzle'> {
  const text = await res.text()
  if (res.status === 401 && text.includes('"challenge"') && readChallenge(JSON.parse(text)))
    return 'puzzle'
  return res.status
}

/**
 * A person signing in from the shop's page: a puzzle is answered and the login sent again,
 * with the device cookie the puzzle's answer gave, as a browser would.
 */
async function personLogin(
  ip: string,
  username: string,
  password: string,
  cookie?: string,
  app = false,
) {
  const res = await login(ip, username, password, cookie)
  if (res.status !== 401) return res
  const puzzle = readChallenge(await res.clone().json())
  if (!puzzle) return res
  const answer = await solveInNode(puzzle.token, puzzle.bits)
  // An app without a cookie jar answers the puzzle but sends no cookie back.
  return login(ip, username, password, app ? undefined : (deviceCookie(res) ?? cookie), {
    ...CHROME,
    [puzzle.header]: answer,
  })
}

/** The `name=value` of the device cookie an answer sets, or undefined. */
function deviceCookie(res: Response): string | undefined {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('bw_device='))
  return line?.split(';')[0]
}

/** A person opening the shop: any first request gets them their device cookie. */
async function visit(ip: string): Promise<string> {
  const res = await fetch(`${gw.url}/api/products/1`, {
    headers: { ...CHROME, 'x-forwarded-for': ip },
  })
  await res.arrayBuffer()
  const cookie = deviceCookie(res)
  expect(cookie).toBeDefined()
  return cookie!
}

describe('limits: the demo config and people who share a browser fingerprint', () => {
  it('a stuffing run that throws cookies away is stopped, and does not lock out the shop', async () => {
    // People who opened the shop before the attack (any earlier request gave them a cookie).
    const alice = await visit('198.51.100.7')
    const bob = await visit('198.51.100.8')
    // The bot: a new IP, no cookie and another browser build on every attempt (so no
    // fingerprint links its attempts).
    const outcomes: (number | 'puzzle')[] = []
    for (let i = 0; i < 14; i++) {
      const build = `Chrome/${110 + i}.0.0.0`
      const headers = {
        ...CHROME,
        'user-agent': CHROME['user-agent'].replace(/Chrome\/\S+/, build),
      }
      outcomes.push(
        await seen(await login(`203.0.113.${i + 1}`, `victim${i}`, 'wrong', undefined, headers)),
      )
    }
    // `failed-logins-new-devices` (cookie-less or new devices, across the route) lets 10
    // failures through, then refuses: with a puzzle, which this bot does not answer.
    expect(outcomes.slice(0, 10)).toEqual(Array(10).fill(401))
    expect(outcomes.slice(10)).toEqual(Array(4).fill('puzzle'))
    // People with the same browser and a device cookie sign in, from any network: a device this
    // new answers a puzzle first (their browser does it), as every new device does meanwhile.
    expect((await personLogin('198.51.100.7', 'alice', 'alice-pw', alice)).status).toBe(200)
    expect((await personLogin('198.51.100.9', 'bob', 'bob-pw', bob)).status).toBe(200)
    // The puzzle was the only thing in their way: without answering it, they wait.
    expect(await seen(await login('198.51.100.7', 'alice', 'alice-pw', alice))).toBe('puzzle')
    // A forged or tampered cookie is no cookie: a client that does not answer the puzzle is
    // refused; a browser answers it with the new cookie that came with the puzzle, and is in.
    const forged = alice.slice(0, -3) + (alice.endsWith('AAA') ? 'BBB' : 'AAA')
    const refused = await login('198.51.100.7', 'alice', 'alice-pw', forged)
    expect(deviceCookie(refused)).toBeDefined()
    expect(await seen(refused)).toBe('puzzle')
    expect((await personLogin('198.51.100.7', 'alice', 'alice-pw', forged)).status).toBe(200)
    // Someone whose very first request is the login: the same, cookie and puzzle at once.
    expect((await personLogin('198.51.100.10', 'bob', 'bob-pw')).status).toBe(200)
  })

  it('a stuffing bot that keeps its cookie is one device, whatever IPs it uses', async () => {
    const cookie = await visit('203.0.113.200')
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) {
      const res = await login(`203.0.113.${201 + i}`, `kept${i}`, 'wrong', cookie)
      statuses.push(res.status)
      await res.arrayBuffer()
    }
    // `accounts-per-device`: five accounts per device per 10 minutes.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
  })

  it('an office of twenty on one IP and one browser build signs in', async () => {
    // `accounts-per-device-network` counts every login per fingerprint and network; each person
    // has their own device cookie.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${shop.url}/api/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: `staff${i}`,
          password: `pw-${i}`,
          email: `s${i}@office.test`,
        }),
      })
      expect(res.status).toBe(201)
    }
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) {
      const cookie = await visit('192.0.2.50')
      statuses.push((await login('192.0.2.50', `staff${i}`, `pw-${i}`, cookie)).status)
    }
    expect(statuses).toEqual(Array(20).fill(200))
  })

  it('a brute force on one account does not lock its owner out of the browser they used before', async () => {
    await fetch(`${shop.url}/api/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'owner', password: 'owner-pw', email: 'o@shop.test' }),
    })
    // The owner signs in once from their browser: that device is now known to the account.
    const mine = await visit('198.51.100.30')
    expect((await login('198.51.100.30', 'owner', 'owner-pw', mine)).status).toBe(200)
    // An attacker guesses the password from rotating IPs, each try a browser of its own.
    const FIREFOX = { ...CHROME, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0' }
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const ip = `203.0.113.${150 + i}`
      const res = await fetch(`${gw.url}/api/products/1`, {
        headers: { ...FIREFOX, 'x-forwarded-for': ip },
      })
      await res.arrayBuffer()
      const theirs = deviceCookie(res)
      const attempt = await login(ip, 'owner', `guess${i}`, theirs, FIREFOX)
      statuses.push(attempt.status)
      await attempt.arrayBuffer()
    }
    // `login-per-account`: 5 a minute, the owner's first sign-in (from a device not yet known)
    // among them.
    expect(statuses.slice(0, 4)).toEqual(Array(4).fill(401))
    expect(statuses.slice(-3)).toEqual([429, 429, 429])
    // The owner's browser still gets in, from another network too; a new device does not.
    expect((await login('198.51.100.31', 'owner', 'owner-pw', mine)).status).toBe(200)
    const fresh = await visit('198.51.100.32')
    expect((await login('198.51.100.32', 'owner', 'owner-pw', fresh)).status).toBe(429)
    // A device known to another account is not known to this one.
    const other = await visit('198.51.100.33')
    expect((await login('198.51.100.33', 'alice', 'alice-pw', other)).status).toBe(200)
    expect((await login('198.51.100.33', 'owner', 'owner-pw', other)).status).toBe(429)
  })

  it('guesses answered with an unsolved puzzle do not lock an app user out of their account', async () => {
    await fetch(`${shop.url}/api/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'appuser', password: 'app-pw', email: 'a@app.test' }),
    })
    // Stuffing from new devices trips the route-wide new-devices rule: puzzles for new devices.
    for (let i = 0; i < 10; i++)
      expect(await seen(await login(`203.0.113.${60 + i}`, `nobody${i}`, 'wrong'))).toBe(401)
    // An attacker hammers the app user's account from rotating addresses and never answers.
    for (let i = 0; i < 12; i++)
      expect(await seen(await login(`203.0.113.${80 + i}`, 'appuser', `guess${i}`))).toBe('puzzle')
    // The app (no cookies, so never a known device) answers its puzzle and signs in: the
    // attempts that never reached the shop did not count against the account.
    const res = await personLogin('198.51.100.70', 'appuser', 'app-pw', undefined, true)
    expect(res.status).toBe(200)
  })

  it('stuffing with a fresh cookie per attempt is stopped; a device known for a while is not', async () => {
    const outcomes: (number | 'puzzle')[] = []
    for (let i = 0; i < 30 && !outcomes.includes('puzzle'); i++) {
      const cookie = await visit(`203.0.113.${100 + i}`)
      outcomes.push(await seen(await login(`203.0.113.${100 + i}`, `fresh${i}`, 'wrong', cookie)))
    }
    // `failed-logins-new-devices` (device: untrusted, across the route) lets 10 through, then
    // asks every new device for a puzzle.
    expect(outcomes).toEqual([...Array(10).fill(401), 'puzzle'])
    // Someone on the same browser whose device was first issued 20 minutes ago is trusted: no
    // puzzle at all.
    const devices = deviceCookies(demo.identity.device!)
    const known = devices.read(CHROME, Date.now() - 20 * 60_000).setCookie!.split(';')[0]!
    expect((await login('198.51.100.20', 'alice', 'alice-pw', known)).status).toBe(200)
    // A newcomer answers one and is in; the bot's next attempt, unanswered, is not.
    const newcomer = await visit('198.51.100.21')
    expect((await personLogin('198.51.100.21', 'bob', 'bob-pw', newcomer)).status).toBe(200)
    const next = await visit('203.0.113.199')
    expect(await seen(await login('203.0.113.199', 'fresh99', 'wrong', next))).toBe('puzzle')
  })
})
