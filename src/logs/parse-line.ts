/**
 * Reads one log line of any format Bulwark knows, detected line by line (so one file may mix
 * them): a line starting with `{` is Bulwark's JSON event log, anything else is tried as nginx /
 * Apache `combined`. Never throws: an unreadable line is a {@link LineMiss}.
 * Called by `scanLogs`; calls the per-format readers.
 * @see ../../docs/audit-replay.md#log-formats
 */
import { parseBulwarkLine } from './bulwark-line.js'
import { parseNginxLine } from './nginx-line.js'
import type { LineMiss, LogRecord } from './record.js'

const BLANK: LineMiss = { miss: 'skip', why: 'blank line' }

/**
 * @example
 * const r = parseLine(line, 'access.log', 42)
 * if (isRecord(r)) audit.add(r)
 */
export function parseLine(text: string, source: string, lineNo: number): LogRecord | LineMiss {
  let i = 0
  while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++
  if (i === text.length) return BLANK
  return text.charCodeAt(i) === 123 /* { */
    ? parseBulwarkLine(text, source, lineNo)
    : parseNginxLine(text, source, lineNo)
}
