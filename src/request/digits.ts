/**
 * The number a string of 1–15 ASCII digits spells, else -1: a Content-Length, a numeric id in
 * a path. Read on every request, so a loop, not a regex (15 digits stay a safe integer).
 */
export function digitsValue(s: string): number {
  const n = s.length
  if (n === 0 || n > 15) return -1
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return -1
  }
  return Number(s)
}
