/**
 * Whether a decimal number literal means exactly the double a JavaScript parser reads from it.
 * `10000.00000000000001` reads as 10000 here but as more than 10000 in a backend that keeps
 * exact decimals (Python's Decimal, Java's BigDecimal, Postgres numeric): a maximum the gateway
 * checked would not hold there. The shortest form JavaScript prints for a double
 * (`0.30000000000000004`) and trailing zeros (`1.50`) are exact; more digits than that are not.
 * @see ../../docs/contract.md#parameters
 */

/**
 * True when `literal` (a valid JSON number) is, digit for digit, the shortest form of the double
 * it parses to: a parser keeping exact decimals then reads the same value JavaScript checked.
 * @example
 * isExactNumber('0.30000000000000004') // true
 * isExactNumber('1.50') // true
 * isExactNumber('10000.00000000000001') // false
 */
export function isExactNumber(literal: string): boolean {
  // Short literals without an exponent always are: a double keeps 15 significant digits.
  // With one, a short literal can still leave the double's range: `1e400` is Infinity here,
  // `1e-400` zero, and both are ordinary numbers to a parser keeping exact decimals.
  if (literal.length <= 16 && !EXPONENT.test(literal)) return true
  const n = Number(literal)
  if (!Number.isFinite(n)) return false
  if (n === 0) return !NON_ZERO.test(mantissa(literal))
  if (literal.length <= 16 && Math.abs(n) >= Number.MIN_VALUE * 2 ** 52) return true
  return normalized(literal) === normalized(String(n))
}

const EXPONENT = /[eE]/
const NON_ZERO = /[1-9]/
/** The digits before any exponent. */
function mantissa(literal: string): string {
  const e = literal.search(EXPONENT)
  return e < 0 ? literal : literal.slice(0, e)
}

const DECIMAL = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/** A decimal literal as `digits@point`: `1.50` and `15e-1` are both `15@1`. */
function normalized(literal: string): string {
  const m = DECIMAL.exec(literal)
  if (!m) return literal
  let digits = m[1]! + (m[2] ?? '')
  let point = m[1]!.length + Number(m[3] ?? 0)
  let lead = 0
  while (lead < digits.length - 1 && digits.charCodeAt(lead) === 48) lead++
  digits = digits.slice(lead)
  point -= lead
  let end = digits.length
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--
  digits = digits.slice(0, end)
  return digits === '0' ? '0' : `${digits}@${point}`
}
