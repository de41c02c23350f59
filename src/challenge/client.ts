/**
 * The client side of Bulwark's proof-of-work challenge, for browsers and Node (>= 20): no Node
 * module is imported, hashing is the platform's Web Crypto. Import it as `bulwark/challenge`
 * (or copy the protocol: it fits in twenty lines of any language, see the README).
 *
 * @example
 * import { fetchWithChallenge } from 'bulwark/challenge'
 * const res = await fetchWithChallenge('/api/login', { method: 'POST', body: JSON.stringify(creds) })
 * @see ../../README.md#challenges-proof-of-work
 */

/** The `challenge` member of a challenged answer's JSON body. */
export interface PowChallenge {
  readonly scheme: 'Bulwark-PoW'
  readonly algorithm: 'sha-256'
  readonly token: string
  readonly bits: number
  /** Request header to send the answer in. */
  readonly header: string
  /** Seconds the puzzle stays good for. */
  readonly expiresIn: number
}

/** The puzzle in a parsed answer body, or undefined when the body carries none. */
export function readChallenge(body: unknown): PowChallenge | undefined {
  const c = (body as { challenge?: Partial<PowChallenge> } | null)?.challenge
  if (
    c &&
    c.scheme === 'Bulwark-PoW' &&
    c.algorithm === 'sha-256' &&
    typeof c.token === 'string' &&
    typeof c.bits === 'number' &&
    c.bits >= 1 &&
    c.bits <= 32 &&
    typeof c.header === 'string'
  )
    return c as PowChallenge
  return undefined
}

export interface SolveOptions {
  /** Stop early (the user left the page). */
  readonly signal?: AbortSignal
  /** Hashes started together (Web Crypto is asynchronous: batches hide its latency). */
  readonly batch?: number
}

/**
 * Finds the answer to a puzzle: `<token>.<nonce>`, whose SHA-256 starts with `bits` zero bits.
 * About 2^bits hashes on average; gives up after 2^(bits+8) (a puzzle that hard was not meant
 * to be solved).
 */
export async function solve(
  token: string,
  bits: number,
  options: SolveOptions = {},
): Promise<string> {
  const subtle = globalThis.crypto?.subtle
  // Browsers offer Web Crypto only to secure contexts: https pages, and http on localhost.
  if (subtle === undefined) throw new Error('Web Crypto is unavailable here (not a secure context)')
  const encoder = new TextEncoder()
  const batch = options.batch ?? 256
  const limit = 2 ** Math.min(bits + 8, 40)
  // From a random nonce: clients handed the same puzzle must not find the same answer.
  const from = firstNonce()
  for (let start = 0; start < limit; start += batch) {
    options.signal?.throwIfAborted()
    const tries: Promise<ArrayBuffer>[] = []
    for (let i = 0; i < batch; i++)
      tries.push(
        subtle.digest('SHA-256', encoder.encode(`${token}.${(from + start + i).toString(36)}`)),
      )
    const digests = await Promise.all(tries)
    for (let i = 0; i < batch; i++)
      if (leadingZeroBits(new Uint8Array(digests[i]!)) >= bits)
        return `${token}.${(from + start + i).toString(36)}`
  }
  throw new Error(`no answer within ${limit} tries`)
}

/**
 * `fetch` that answers a proof-of-work challenge once: when the answer is a challenge, the
 * puzzle is solved and the request sent again with the answer. The body must be re-sendable (a
 * string, bytes, a Blob or FormData — not a stream).
 */
export async function fetchWithChallenge(
  input: string | URL,
  init: RequestInit = {},
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<Response> {
  const first = await fetchImpl(input, init)
  if (first.status < 400) return first
  if (!first.headers.get('content-type')?.includes('json')) return first
  const puzzle = readChallenge(
    await first
      .clone()
      .json()
      .catch(() => undefined),
  )
  if (!puzzle) return first
  const answer = await solve(puzzle.token, puzzle.bits, init.signal ? { signal: init.signal } : {})
  const headers = new Headers(init.headers)
  headers.set(puzzle.header, answer)
  return fetchImpl(input, { ...init, headers })
}

/** A random starting nonce below 2^40 (answers stay short: at most 9 base-36 digits). */
export function firstNonce(): number {
  const [hi, lo] = globalThis.crypto.getRandomValues(new Uint32Array(2))
  return (hi! & 0xff) * 2 ** 32 + lo!
}

/** Zero bits at the start of a digest. */
export function leadingZeroBits(digest: Uint8Array): number {
  let n = 0
  for (const byte of digest) {
    if (byte === 0) {
      n += 8
      continue
    }
    return n + Math.clz32(byte) - 24
  }
  return n
}
