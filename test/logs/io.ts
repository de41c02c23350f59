/** A CommandIo that records what a command printed, for in-process CLI tests. */
import type { CommandIo } from '../../src/logs/command-io.js'

export function recordingIo(tty = false) {
  const out: string[] = []
  const err: string[] = []
  const progress: string[] = []
  const io: CommandIo = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    progress: { isTTY: tty, columns: 100, write: (s: string) => progress.push(s) },
  }
  return {
    io,
    get stdout() {
      return out.join('\n')
    },
    get stderr() {
      return err.join('\n')
    },
    progress,
  }
}
