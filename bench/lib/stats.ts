/**
 * Small statistics helpers for benchmark samples.
 */

/**
 * Median of the finite numbers in `values`, or `null` when there are none.
 *
 * @param values - Samples; `null` entries are ignored.
 */
export function median(values: readonly (number | null)[]): number | null {
  const sorted = values
    .filter((v): v is number => v !== null && Number.isFinite(v))
    .sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Nearest-rank percentile of an ascending-sorted sample, or `null` when it is empty.
 *
 * @param sorted - Samples sorted ascending.
 * @param p - Percentile in `[0, 100]`.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}
