/**
 * Plain-text tables for the audit and replay reports: columns padded to their widest cell,
 * numbers right-aligned, long cells cut with `…`.
 */

export type Cell = string | number

/**
 * @example
 * table(['route', 'requests'], [['/api/products/:id', 1200]])
 * // route              requests
 * // /api/products/:id      1200
 */
export function table(
  head: readonly string[],
  rows: readonly (readonly Cell[])[],
  maxCell = 60,
): string {
  const text = rows.map((r) => r.map((c) => cut(typeof c === 'number' ? num(c) : c, maxCell)))
  const right = head.map((_, i) => rows.length > 0 && rows.every((r) => numeric(r[i])))
  const width = head.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd()
  return [line(head), ...text.map(line)].join('\n')
}

/** Numbers, and cells that read as numbers (`42%`, `~12`, `-`), are right-aligned. */
function numeric(c: Cell | undefined): boolean {
  return typeof c === 'number' || (typeof c === 'string' && /^(~?\d[\d.]*[%+]?|-)$/.test(c))
}

/** Integers as they are, fractions with up to 1 decimal. */
function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1)
}

function cut(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}
