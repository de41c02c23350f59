/**
 * A person's day at the shop: one to three visits, hours apart. A member logs in first (now and
 * then with a typo, then again), a guest shops with the shop's session cookie; then they look at a
 * page of products, maybe search, read a few product pages, maybe put something in the cart and
 * maybe buy it. Every pause is a log-normal human think time.
 * Used by the people scenarios (shoppers, office, phone); calls the world and its clients.
 * @see ../../../docs/simulate.md#people
 */
import type { Rng } from '../rng.js'
import type { SimClient, SimResponse, SendOptions } from '../sim-client.js'
import { logNormal } from '../think-time.js'
import type { World } from '../world.js'

/** A member's credentials; created with a sign-up on the first visit. */
export interface Account {
  readonly username: string
  readonly password: string
  readonly email: string
}

/** One person at the shop. */
export interface Shopper {
  readonly client: SimClient
  /** This person's own random stream: people running side by side stay reproducible. */
  readonly rng: Rng
  /** Members log in; guests (undefined) shop with the shop's session cookie. */
  readonly account: Account | undefined
  /** Called before each request: a phone moving between networks. */
  readonly beforeRequest?: () => void
}

/** Median pauses, simulated milliseconds. */
const THINK = {
  arrive: 20_000,
  page: 5_000,
  form: 8_000,
  retype: 4_000,
  betweenVisits: 3 * 3_600_000,
} as const
const TYPO_RATE = 0.15
const WORDS = ['mug', 'lamp', 'chair', 'scarf', 'notebook', 'red', 'oak', 'wool', 'glass']

/**
 * @example await shopperDay(world, { client, rng, account: newAccount(rng, 'office', 3) })
 */
export async function shopperDay(w: World, shopper: Shopper): Promise<void> {
  const { rng } = shopper
  const visits = rng.int(1, 3)
  await w.pause(logNormal(rng, THINK.arrive, 1))
  for (let v = 0; v < visits; v++) {
    if (v > 0) await w.pause(logNormal(rng, THINK.betweenVisits, 1))
    await visit(w, shopper, v === 0)
  }
}

/**
 * A member account unique to this scenario, person and seed, so reruns against a long-running
 * shop find it again (its sign-up answers 409) with the same password.
 */
export function newAccount(rng: Rng, scenario: string, n: number): Account {
  const username = `${scenario}-${String(n).padStart(2, '0')}-${rng.int(0, 0xffff).toString(16)}`
  return { username, password: `${username}-pw!`, email: `${username}@example.com` }
}

async function visit(w: World, s: Shopper, first: boolean): Promise<void> {
  const { rng } = s
  const send = (method: string, path: string, opts?: SendOptions): Promise<SimResponse> => {
    s.beforeRequest?.()
    return s.client.send(method, path, opts)
  }
  const think = (median: number = THINK.page) => w.pause(logNormal(rng, median))

  if (s.account && !s.client.token) {
    if (first) {
      await think(THINK.form)
      await send('POST', '/api/signup', { json: s.account })
    }
    await logIn(w, s, s.account, send)
  }

  const page = rng.chance(0.8) ? 1 : rng.int(2, 3)
  let seen = productIds(await send('GET', `/api/products?page=${page}&limit=20`))
  await think()
  if (rng.chance(0.3)) {
    const found = productIds(await send('GET', `/api/search?q=${rng.pick(WORDS)}`))
    if (found.length) seen = found
    await think()
  }
  if (seen.length === 0) seen = [rng.int(1, 50)]
  const viewed: number[] = []
  for (let i = rng.int(1, 5); i > 0; i--) {
    const id = rng.pick(seen)
    viewed.push(id)
    await send('GET', `/api/products/${id}`)
    await think()
  }
  if (!rng.chance(0.6)) return
  await send('POST', '/api/cart', {
    json: { productId: rng.pick(viewed), quantity: rng.int(1, 2) },
  })
  await think()
  if (rng.chance(0.3)) {
    await send('POST', '/api/cart', { json: { productId: rng.pick(seen), quantity: 1 } })
    await think()
  }
  await send('GET', '/api/cart')
  await think(THINK.form)
  if (!rng.chance(0.75)) return
  await send('POST', '/api/checkout', { json: { paymentToken: paymentToken(rng) } })
}

async function logIn(
  w: World,
  { client, rng }: Shopper,
  account: Account,
  send: (method: string, path: string, opts?: SendOptions) => Promise<SimResponse>,
): Promise<void> {
  const { username, password } = account
  await w.pause(logNormal(rng, THINK.form))
  if (rng.chance(TYPO_RATE)) {
    // A missed last key, noticed after the shop says no.
    await send('POST', '/api/login', { json: { username, password: password.slice(0, -1) } })
    await w.pause(logNormal(rng, THINK.retype))
  }
  const res = await send('POST', '/api/login', { json: { username, password } })
  const token = (res.json() as { token?: unknown } | undefined)?.token
  // Refused: shop on as a guest this visit, try again next time.
  if (res.status === 200 && typeof token === 'string') client.token = token
}

function productIds(res: SimResponse): number[] {
  const items = (res.json() as { items?: { id?: unknown }[] } | undefined)?.items
  return Array.isArray(items) ? items.flatMap((i) => (typeof i?.id === 'number' ? [i.id] : [])) : []
}

/** Shaped like the payment provider's tokens (`tok_` and 16 letters or digits). */
export function paymentToken(rng: Rng): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  let tok = 'tok_'
  for (let i = 0; i < 16; i++) tok += chars[rng.int(0, chars.length - 1)]
  return tok
}
