/**
 * Streams log files (plain, `.gz`, or `-` for stdin) line by line through `parseLine` and hands
 * each request record to a callback. Nothing is kept but counters and a few examples, so a 1 GB
 * log takes the same memory as a 1 kB one. Malformed lines are counted and skipped.
 * Called by src/audit and src/replay; calls `lineBatches` and `parseLine`.
 * @see ../../docs/audit-replay.md
 */
import { createReadStream, type ReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { MaybePromise } from '../engine/types.js'
import { fsReason, InputError } from './input-error.js'
import { lineBatches, MAX_LINE_BYTES } from './lines.js'
import { parseLine } from './parse-line.js'
import { isRecord, type LogRecord } from './record.js'

/** Where a scan is, for the progress bar. */
export interface ScanProgress {
  /** Bytes read from disk so far (compressed bytes for `.gz`). */
  readonly bytes: number
  /** Total size of the files; undefined when reading stdin. */
  readonly totalBytes: number | undefined
  readonly lines: number
}

/** Options of {@link scanLogs}. */
export interface ScanOptions {
  /** Called after each chunk (every 64 kB). */
  readonly onProgress?: (p: ScanProgress) => void
  /** Lines longer than this are cut and will count as malformed (default 1 MiB). */
  readonly maxLineBytes?: number
  /** Malformed lines kept as examples (default 5). */
  readonly maxExamples?: number
  /** What `-` reads (default process.stdin). */
  readonly stdin?: Readable
}

/** Counts for one file read. */
export interface SourceStats {
  readonly source: string
  bytes: number
  lines: number
  records: number
  malformed: number
  skipped: number
}

/** A malformed line kept for the report. */
export interface MalformedExample {
  readonly source: string
  readonly lineNo: number
  readonly why: string
  readonly text: string
}

/** What a scan read, over all files. */
export interface ScanStats {
  readonly sources: readonly SourceStats[]
  readonly lines: number
  readonly records: number
  readonly malformed: number
  readonly skipped: number
  readonly malformedExamples: readonly MalformedExample[]
  /** Earliest and latest record time (epoch ms); undefined when there was no record. */
  readonly from: number | undefined
  readonly to: number | undefined
  readonly elapsedMs: number
}

/** Read size: 64 kB measured fastest (1 MB chunks make large strings that split slowly). */
const CHUNK = 1 << 16

/**
 * Checks every file before reading any, so bad input fails fast.
 * @throws {InputError} `ERR_LOG_UNREADABLE` for a missing, unreadable or non-regular file.
 */
export async function checkLogs(paths: readonly string[]): Promise<number | undefined> {
  let total: number | undefined = 0
  for (const p of paths) {
    if (p === '-') {
      total = undefined
      continue
    }
    let size: number
    try {
      const s = await stat(p)
      if (!s.isFile()) throw new InputError('ERR_LOG_UNREADABLE', p, 'cannot read log (not a file)')
      size = s.size
    } catch (err) {
      if (err instanceof InputError) throw err
      throw new InputError('ERR_LOG_UNREADABLE', p, `cannot read log (${fsReason(err)})`, {
        cause: err,
      })
    }
    if (total !== undefined) total += size
  }
  return total
}

/**
 * Reads `paths` in order and calls `onRecord` for every request line; awaits it when it returns
 * a promise (replay with an async layer), so records are handled strictly in order.
 * @throws {InputError} `ERR_LOG_UNREADABLE` when a file cannot be read.
 * @example
 * const stats = await scanLogs(['access.log'], (r) => audit.add(r))
 */
export async function scanLogs(
  paths: readonly string[],
  onRecord: (r: LogRecord) => MaybePromise<void>,
  opts: ScanOptions = {},
): Promise<ScanStats> {
  const started = performance.now()
  const totalBytes = await checkLogs(paths)
  const maxExamples = opts.maxExamples ?? 5
  const sources: SourceStats[] = []
  const examples: MalformedExample[] = []
  let doneBytes = 0
  let lines = 0
  let from: number | undefined
  let to: number | undefined
  for (const path of paths) {
    const s: SourceStats = {
      source: path,
      bytes: 0,
      lines: 0,
      records: 0,
      malformed: 0,
      skipped: 0,
    }
    sources.push(s)
    const file: ReadStream | undefined =
      path === '-' ? undefined : createReadStream(path, { highWaterMark: CHUNK })
    const input: Readable = file ?? opts.stdin ?? process.stdin
    const stream = path.endsWith('.gz') ? input.pipe(createGunzip()) : input
    if (stream !== input) input.on('error', (err) => stream.destroy(err))
    let lineNo = 0
    try {
      for await (const batch of lineBatches(stream, opts.maxLineBytes ?? MAX_LINE_BYTES)) {
        for (const text of batch) {
          lineNo++
          const r = parseLine(text, path, lineNo)
          if (isRecord(r)) {
            s.records++
            if (from === undefined || r.time < from) from = r.time
            if (to === undefined || r.time > to) to = r.time
            const p = onRecord(r)
            if (p instanceof Promise) await p
          } else if (r.miss === 'skip') s.skipped++
          else {
            s.malformed++
            if (examples.length < maxExamples)
              examples.push({ source: path, lineNo, why: r.why, text: copy(text, 300) })
          }
        }
        s.lines = lineNo
        s.bytes = file ? file.bytesRead : s.bytes
        opts.onProgress?.({ bytes: doneBytes + s.bytes, totalBytes, lines: lines + lineNo })
      }
    } catch (err) {
      if (err instanceof InputError || !isIoError(err)) throw err
      throw new InputError('ERR_LOG_UNREADABLE', path, `cannot read log (${fsReason(err)})`, {
        cause: err,
      })
    }
    s.lines = lineNo
    lines += lineNo
    doneBytes += s.bytes
  }
  const sum = (k: 'records' | 'malformed' | 'skipped') => sources.reduce((n, s) => n + s[k], 0)
  return {
    sources,
    lines,
    records: sum('records'),
    malformed: sum('malformed'),
    skipped: sum('skipped'),
    malformedExamples: examples,
    from,
    to,
    elapsedMs: performance.now() - started,
  }
}

/** A flat copy of the first `max` characters, so an example does not pin the chunk it was cut from. */
export function copy(text: string, max: number): string {
  return Buffer.from(text.length > max ? text.slice(0, max) + '…' : text).toString()
}

function isIoError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  // errno codes (ENOENT, EIO) and zlib's (Z_DATA_ERROR), not Node's own ERR_* codes.
  return typeof code === 'string' && (/^E[A-Z0-9]+$/.test(code) || code.startsWith('Z_'))
}
