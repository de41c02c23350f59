/**
 * How long a person pauses between two requests: log-normal, as page-view and dwell times are
 * (a few quick clicks, a long tail of reading). Used by the human journey; calls the Rng.
 * @see ../../docs/simulate.md#time
 */
import type { Rng } from './rng.js'

/**
 * Milliseconds of simulated time: `median × e^(sigma·Z)`. `sigma` 0.8 spreads the middle half of
 * the pauses over roughly half to twice the median.
 * @example logNormal(rng, 4000) // a product page read for about 4 s
 */
export function logNormal(rng: Rng, medianMs: number, sigma = 0.8): number {
  return medianMs * Math.exp(sigma * rng.normal())
}
