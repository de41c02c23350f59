import { z } from 'zod'
import { duration } from '../config/units.js'
import { hmacSecrets } from '../identity/spec.js'

/**
 * `challenge:` — the proof-of-work puzzle a rule's `challenge` action asks for
 * (src/challenge/pow.ts). Without this block, `challenge` is a plain 401 nobody can pass.
 */
export const ChallengeSpec = z.strictObject({
  /**
   * HMAC key of the puzzles, the same on every instance (at least 32 characters). A list rotates
   * keys: the first signs, every one verifies. Without one, a key is made per process: a puzzle
   * handed out by one instance cannot be answered at another (a startup warning says so).
   */
  secret: hmacSecrets.optional(),
  /**
   * Difficulty: leading zero bits the answer's SHA-256 must have. Each bit doubles the work:
   * 16 is about 65,000 hashes on average (a fraction of a second in a browser).
   */
  bits: z.number().int().min(8).max(26).default(16),
  /**
   * The most bits a puzzle asks for while a rule's puzzles keep being solved (default: `bits`
   * + 4): one more bit at 32 answers accepted for one rule, two at 64, three at 128… (a count
   * halving every 10 minutes): a bot that solves puzzles pays more and more.
   */
  maxBits: z.number().int().min(8).max(26).optional(),
  /** How long a puzzle may be solved and used, from when it was handed out. */
  ttl: duration
    .refine((ms) => ms >= 10_000 && ms <= 3_600_000, { message: 'expected between 10s and 1h' })
    .default(120_000),
  /** Request header carrying the answer. */
  header: z
    .string()
    .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: 'expected a header name' })
    .toLowerCase()
    .default('bulwark-pow'),
})
export type ChallengeSpec = z.output<typeof ChallengeSpec>

/** `maxBits`, defaulted: `bits` + 4, at most 26 and never below `bits`. */
export function maxBitsOf(spec: ChallengeSpec): number {
  return Math.max(spec.bits, spec.maxBits ?? Math.min(26, spec.bits + 4))
}
