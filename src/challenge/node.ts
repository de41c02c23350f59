/**
 * The proof-of-work solver for Node clients (partner integrations, `bulwark simulate`): native
 * SHA-256 instead of Web Crypto, about ten times faster in Node, in slices that yield to the
 * event loop so a client solving a puzzle does not stall everything else in its process.
 * Browsers use `solve` from `bulwark/challenge` (src/challenge/client.ts).
 */
import { createHash } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import { firstNonce, leadingZeroBits, type SolveOptions } from './client.js'

/** Hashes per slice between two turns of the event loop (a few milliseconds). */
const SLICE = 2048

/**
 * Finds `<token>.<nonce>` whose SHA-256 starts with `bits` zero bits, like `solve` in
 * `bulwark/challenge` (from a random nonce too).
 */
export async function solveInNode(
  token: string,
  bits: number,
  options: Pick<SolveOptions, 'signal'> = {},
): Promise<string> {
  const limit = 2 ** Math.min(bits + 8, 40)
  const from = firstNonce()
  for (let start = 0; start < limit; start += SLICE) {
    options.signal?.throwIfAborted()
    for (let i = start; i < start + SLICE; i++) {
      const answer = `${token}.${(from + i).toString(36)}`
      if (leadingZeroBits(createHash('sha256').update(answer).digest()) >= bits) return answer
    }
    await setImmediate()
  }
  throw new Error(`no answer within ${limit} tries`)
}
