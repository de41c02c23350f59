/**
 * A progress bar on stderr for long log scans, drawn only when stderr is a terminal (pipes and
 * CI logs get nothing) and redrawn at most every 100 ms:
 * `audit  [██████████··········]  52%  512 MB / 1.0 GB  2.1M lines  412k lines/s  ETA 3s`.
 * Used by the audit and replay commands.
 */

/** Where the bar is drawn: process.stderr, or a fake in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean
  readonly columns?: number
  write(s: string): unknown
}

/** How {@link progressBar} draws. */
export interface ProgressOptions {
  /** Word in front of the bar: `audit`, `replay`. */
  readonly label: string
  /** Draw even when the stream is not a TTY (tests), or never (`--no-progress`). Default: isTTY. */
  readonly enabled?: boolean
  readonly stream?: ProgressStream
  /** Milliseconds; injected in tests. */
  readonly now?: () => number
}

/** A drawn (or silent) bar. */
export interface Progress {
  /** Bytes read so far, of `total` when known (stdin: unknown), and lines read. */
  update(done: number, total: number | undefined, lines: number): void
  /** Clears the bar. */
  finish(): void
}

const FRAME_MS = 100

/**
 * @example
 * const bar = progressBar({ label: 'audit' })
 * await scanLogs(files, onRecord, { onProgress: (p) => bar.update(p.bytes, p.totalBytes, p.lines) })
 * bar.finish()
 */
export function progressBar(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr
  const now = opts.now ?? Date.now
  const enabled = opts.enabled ?? stream.isTTY === true
  const started = now()
  let last = -Infinity
  let drawn = false
  return {
    update(done, total, lines) {
      if (!enabled) return
      const t = now()
      if (t - last < FRAME_MS) return
      last = t
      drawn = true
      stream.write(
        '\r\x1b[2K' +
          renderProgress(opts.label, done, total, lines, t - started, stream.columns ?? 80),
      )
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K')
      drawn = false
    },
  }
}

/** One frame of the bar, at most `columns - 1` characters wide. Exported for tests. */
export function renderProgress(
  label: string,
  done: number,
  total: number | undefined,
  lines: number,
  elapsedMs: number,
  columns: number,
): string {
  const secs = elapsedMs / 1000
  const rate = secs > 0 ? `${count(lines / secs)} lines/s` : ''
  if (total === undefined || total <= 0) {
    return fit([label, bytes(done), `${count(lines)} lines`, rate], columns)
  }
  const frac = Math.min(1, done / total)
  const eta = frac > 0 && secs > 0.5 ? `ETA ${duration((secs / frac) * (1 - frac))}` : ''
  const tail = [`${Math.floor(frac * 100)}%`.padStart(4), `${bytes(done)} / ${bytes(total)}`]
  const rest = [`${count(lines)} lines`, rate, eta]
  const fixed = fit([label, ...tail, ...rest], columns).length
  const width = Math.max(0, Math.min(30, columns - 1 - fixed - 4))
  if (width < 5) return fit([label, ...tail, ...rest], columns)
  const full = Math.round(frac * width)
  const bar = `[${'█'.repeat(full)}${'·'.repeat(width - full)}]`
  return fit([label, bar, ...tail, ...rest], columns)
}

function fit(parts: readonly string[], columns: number): string {
  const s = parts.filter((p) => p !== '').join('  ')
  return s.length < columns ? s : s.slice(0, Math.max(0, columns - 1))
}

/** `1.2M`, `412k`, `950`. */
export function count(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`
  return String(Math.round(n))
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(0)} MB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} kB`
  return `${n} B`
}

function duration(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`
  const m = Math.floor(s / 60)
  return m < 60
    ? `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}
