/**
 * The simulator's only source of randomness: a seeded PRNG (mulberry32), so `--seed` makes every
 * choice (IPs, browsers, typos, think times) reproducible. Network timing still varies run to run.
 * Used by every scenario through the world; calls nothing.
 */

/** A seeded random source. `fork(label)` gives an independent stream per scenario or client. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
  /** Standard normal (Box–Muller). */
  normal(): number
  /** A new stream derived from this seed and `label`: adding a scenario leaves others' streams alone. */
  fork(label: string): Rng
}

/**
 * @example
 * const rng = createRng(1)
 * rng.int(1, 50) // the same number on every run with seed 1
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0
  const next = (): number => {
    // mulberry32: 32-bit state, full period, good enough for traffic that is not cryptography.
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    fork: (label) => createRng(hash(`${seed}:${label}`)),
  }
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}
