/**
 * Child-process plumbing for the bench: spawning Node processes with their output in a log file,
 * waiting for them to answer HTTP, reading their CPU time from `/proc`, and stopping them.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync, statSync, truncateSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { httpOnce } from './net.js'

/** How to start a Node child process. */
export interface SpawnNodeOptions {
  /** Display name, used in messages. */
  name: string
  /** Script to run with the current `node` binary. */
  script: string
  /** Arguments after the script. */
  args: readonly string[]
  /** Working directory (defaults to the bench's). */
  cwd?: string
  /** Extra environment variables, merged over the bench's environment. */
  env?: Record<string, string>
  /** File receiving the child's stdout and stderr (appended). */
  logFile: string
}

/** A running (or exited) child process started by {@link spawnNode}. */
export interface ChildHandle {
  /** Display name. */
  readonly name: string
  /** The underlying Node child process. */
  readonly child: ChildProcess
  /** Process id. */
  readonly pid: number
  /** File holding the child's stdout and stderr. */
  readonly logFile: string
  /** `undefined` while running; a description such as `code 1` once the process has exited. */
  exit: string | undefined
}

/**
 * Spawns `node <script> ...args` with stdout and stderr appended to `logFile` (a file rather than
 * a pipe, so a chatty child never blocks on a full pipe and the bench process spends no CPU on
 * reading it).
 *
 * @param options - What to run and where its output goes.
 */
export function spawnNode(options: SpawnNodeOptions): ChildHandle {
  const fd = openSync(options.logFile, 'a')
  try {
    const child = spawn(process.execPath, [options.script, ...options.args], {
      cwd: options.cwd,
      env: { ...process.env, NODE_ENV: 'production', ...options.env },
      stdio: ['ignore', fd, fd],
    })
    if (child.pid === undefined) throw new Error(`could not spawn ${options.name}`)
    const handle: ChildHandle = {
      name: options.name,
      child,
      pid: child.pid,
      logFile: options.logFile,
      exit: undefined,
    }
    child.once('exit', (code, signal) => {
      handle.exit = signal !== null ? `signal ${signal}` : `code ${code}`
    })
    return handle
  } finally {
    closeSync(fd)
  }
}

/**
 * Pins a running process, every thread of it, to `cpus` (a taskset list such as `0` or `0-2`).
 * Threads it starts later inherit the mask. Returns false when `taskset` is missing or refused.
 */
export function pinProcess(pid: number, cpus: string): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
  return r.status === 0
}

/**
 * Polls `url` until the child answers with any HTTP status. Resolves `true` when it does, `false`
 * when the child exits first or `timeoutMs` elapses.
 *
 * @param handle - The child expected to answer.
 * @param url - URL to poll (any status counts as ready).
 * @param timeoutMs - Overall deadline.
 */
export async function waitForHttp(
  handle: ChildHandle,
  url: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (handle.exit !== undefined) return false
    try {
      await httpOnce({ url, timeoutMs: 1000 })
      return true
    } catch {
      await sleep(100)
    }
  }
  return false
}

/**
 * Sends SIGTERM, waits up to `graceMs` for the exit, then sends SIGKILL.
 *
 * @param handle - The child to stop.
 * @param graceMs - Grace period before SIGKILL.
 */
export async function stopChild(handle: ChildHandle, graceMs = 2000): Promise<void> {
  if (handle.exit !== undefined) return
  const exited = new Promise<void>((resolve) => handle.child.once('exit', () => resolve()))
  handle.child.kill('SIGTERM')
  const timer = sleep(graceMs).then(() => 'timeout' as const)
  if ((await Promise.race([exited, timer])) === 'timeout' && handle.exit === undefined) {
    handle.child.kill('SIGKILL')
    await exited
  }
}

/**
 * Last `bytes` bytes of the child's log file, for error messages.
 *
 * @param handle - The child whose log to read.
 * @param bytes - How much of the end of the log to return.
 */
export function logTail(handle: ChildHandle, bytes = 2000): string {
  try {
    const text = readFileSync(handle.logFile, 'utf8')
    return text.length > bytes ? `…${text.slice(-bytes)}` : text
  } catch {
    return ''
  }
}

/**
 * Truncates the child's log when it has grown past `maxBytes` (per-request logging over many runs
 * would otherwise fill the temp directory). The child appends, so truncation is safe.
 *
 * @param handle - The child whose log to trim.
 * @param maxBytes - Size above which the log is emptied.
 */
export function trimLog(handle: ChildHandle, maxBytes = 8 * 1024 * 1024): void {
  try {
    if (statSync(handle.logFile).size > maxBytes) truncateSync(handle.logFile, 0)
  } catch {
    // The log is diagnostics only.
  }
}

let clockTicks: number | undefined

/** Kernel clock ticks per second (`getconf CLK_TCK`), assuming 100 if that cannot be run. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
      clockTicks = Number.isInteger(value) && value > 0 ? value : 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/**
 * User + system CPU time of process `pid` (all its threads) in microseconds, read from
 * `/proc/<pid>/stat`; `null` when unavailable (not Linux, or the process is gone).
 *
 * @param pid - Process id.
 */
export function readCpuMicros(pid: number): number | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // Field 2 (comm) is parenthesised and may contain spaces: split after the last ')'.
  // The rest starts at field 3 (state); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null
  return ((utime + stime) * 1e6) / clockTicksPerSecond()
}

/**
 * CPU time spent busy by the whole machine (all cores, all processes) since boot, in
 * microseconds, from the first line of `/proc/stat` (everything except idle and iowait); `null`
 * when unavailable. The difference over a run, minus the bench's own processes, tells how much
 * other work competed with the measurement.
 */
export function readMachineBusyMicros(): number | null {
  let line: string
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  } catch {
    return null
  }
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const ticks = line.trim().split(/\s+/).slice(1).map(Number)
  if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null
  // guest and guest_nice are already counted in user and nice.
  const [user, nice, system, , , irq, softirq, steal] = ticks
  return ((user + nice + system + irq + softirq + steal) * 1e6) / clockTicksPerSecond()
}
