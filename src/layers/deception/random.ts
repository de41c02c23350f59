/**
 * Random sources for chaos answers and delays: a seeded one for reproducible tests
 * (`deception.seed`), and a crypto one for production, so a bot cannot recover the generator's
 * state from the answers it saw and predict the next ones.
 */
import { randomFillSync } from 'node:crypto'

/** Returns a number in [0, 1). */
export type Random = () => number

/**
 * sfc32 seeded through splitmix32: fast, small state, good enough statistics for chaos draws.
 * @example
 * const r = seededRandom(42)
 * r() // always the same first number for seed 42
 */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0
  const next32 = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = next32()
  let b = next32()
  let c = next32()
  let d = 1
  return function sfc32() {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
}

/**
 * Crypto random numbers, drawn from a pool refilled 1024 at a time (one syscall per refill, not
 * per draw).
 * @example
 * const r = cryptoRandom()
 * r() // 0.7301…
 */
export function cryptoRandom(): Random {
  const pool = new Uint32Array(1024)
  let i = pool.length
  return function crypto() {
    if (i === pool.length) {
      randomFillSync(pool)
      i = 0
    }
    return pool[i++]! / 4294967296
  }
}

/** A whole number drawn uniformly in [min, max]. */
export function between(random: Random, min: number, max: number): number {
  return min === max ? min : min + Math.floor(random() * (max - min + 1))
}

const HEX = '0123456789abcdef'

/** `length` random lower-case hex digits (request ids in fake bodies). */
export function randomHex(random: Random, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += HEX[Math.floor(random() * 16)]
  return out
}
