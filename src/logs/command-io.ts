/**
 * What the `audit` and `replay` commands share: where they write (injectable, so tests run them
 * in-process and read their output and exit code), and how bad input becomes exit code 1.
 * Used by src/cli/audit.ts and src/cli/replay.ts.
 */
import { BulwarkError } from '../errors.js'
import { progressBar, type ProgressStream } from './progress.js'
import type { ScanProgress } from './scan.js'

/** Where a command writes: its report, its errors, its progress bar. */
export interface CommandIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  /** Where the progress bar is drawn (stderr). */
  readonly progress: ProgressStream
}

/** The real thing: stdout, stderr, and the bar on stderr. */
export const processIo: CommandIo = {
  out: (t) => {
    quietEpipe()
    process.stdout.write(t + '\n')
  },
  err: (t) => void process.stderr.write(t + '\n'),
  progress: process.stderr,
}

let piped = false
/** `bulwark audit … | head` closes stdout early: that is the reader's choice, not a crash. */
function quietEpipe(): void {
  if (piped) return
  piped = true
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
}

/** The report was printed. */
export const EXIT_OK = 0
/** Bad input: an unreadable file, an invalid config or OpenAPI file, a bad option value. */
export const EXIT_BAD_INPUT = 1

/** Commander collector for a repeatable option: `--log a.log --log b.log`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** A positive number option: the number, undefined when not given, or what is wrong with it. */
export function positive(value: string | undefined, name: string): number | string | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) && n > 0
    ? n
    : `${name} must be a positive number, got ${JSON.stringify(value)}`
}

/**
 * Prints an input or config error (`CODE` then the message, as `bulwark check` does) and returns
 * exit code 1; rethrows anything else (a bug, with its stack).
 */
export function badInput(err: unknown, io: CommandIo): number {
  if (err instanceof BulwarkError) {
    io.err(`${err.code}\n${err.message}`)
    return EXIT_BAD_INPUT
  }
  throw err
}

/** What a pass over logs reports about the lines it read. */
interface LogCounts {
  readonly records: number
  readonly lines: number
  readonly malformed: number
}

/**
 * Runs one pass over `logs` with a progress bar: its report, or exit code 1 when the input is bad
 * or holds no request line (`ERR_LOG_EMPTY`).
 */
export async function passOverLogs<R extends LogCounts>(
  label: string,
  logs: readonly string[],
  io: CommandIo,
  progress: boolean | undefined,
  run: (onProgress: (p: ScanProgress) => void) => Promise<R>,
): Promise<R | number> {
  const bar = progressBar({
    label,
    stream: io.progress,
    ...(progress === false ? { enabled: false } : {}),
  })
  let report: R
  try {
    report = await run((p) => bar.update(p.bytes, p.totalBytes, p.lines))
  } catch (err) {
    return badInput(err, io)
  } finally {
    bar.finish()
  }
  if (report.records > 0) return report
  io.err(
    `ERR_LOG_EMPTY\nno request lines in ${logs.join(', ')} (${report.lines} lines, ${report.malformed} malformed)`,
  )
  return EXIT_BAD_INPUT
}
