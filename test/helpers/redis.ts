/**
 * Real `redis-server` processes for the Redis store tests: a standalone server or a
 * three-master cluster, on free loopback ports, nothing persisted. Each suite stops what it
 * started in its `afterAll`; anything still running is SIGKILLed when the test process exits.
 *
 * `describeRedis` is the only way a suite may skip: off CI, when `redis-server` is missing, the
 * suite is skipped with a printed reason; on CI it fails instead.
 * @see ../store/redis.test.ts
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { beforeAll, describe } from 'vitest'

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>
  /** SIGKILL: a crash, with no goodbye to connected clients. */
  kill(): void
  /** Starts the server again on the same port (killing it first if it still runs). */
  restart(): Promise<void>
}

export interface RedisCluster {
  /** `127.0.0.1:port` of each master. */
  readonly nodes: string[]
  stop(): Promise<void>
}

const run = promisify(execFile)
const BINARIES = ['redis-server', 'redis-cli'] as const
const INSTALL = 'CI must install it (apt-get install -y redis-server)'

/**
 * What this process started and has not cleaned up yet: redis-server processes (SIGKILLed) and
 * cluster temp dirs (removed) when the process exits or is told to stop (vitest ends its workers
 * with SIGTERM, which skips 'exit' handlers). Kept on a global so the hooks go in only once per
 * process, however many test files load this module.
 */
const leftovers = ((globalThis as Record<symbol, unknown>)[Symbol.for('bulwark.test.redis')] ??=
  startReaper()) as { children: Set<ChildProcess>; dirs: Set<string> }
const live = leftovers.children

function startReaper(): typeof leftovers {
  const children = new Set<ChildProcess>()
  const dirs = new Set<string>()
  const reap = () => {
    for (const child of children) child.kill('SIGKILL')
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  process.on('exit', reap)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      reap()
      // This listener is gone now: the signal's default action (or another listener) runs.
      process.kill(process.pid, signal)
    })
  }
  return { children, dirs }
}

/** Whether `redis-server` and `redis-cli` are on PATH. */
export function redisAvailable(): { ok: true } | { ok: false; reason: string } {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  const missing = BINARIES.filter((bin) => !dirs.some((dir) => executable(join(dir, bin))))
  if (missing.length === 0) return { ok: true }
  return { ok: false, reason: `${missing.join(' and ')} not found` }
}

/**
 * `describe` for suites that need a real Redis. Without `redis-server` on PATH the suite fails
 * on CI (`CI` set) and is skipped with a warning elsewhere.
 */
export function describeRedis(name: string, fn: () => void): void {
  const available = redisAvailable()
  if (available.ok) {
    describe(name, fn)
    return
  }
  if (onCi()) {
    describe(name, () => {
      beforeAll(() => {
        throw new Error(`${available.reason}; ${INSTALL}`)
      })
      fn()
    })
    return
  }
  console.warn(
    `[bulwark] skipped "${name}": ${available.reason} on PATH (install redis-server to run it; on CI it is required)`,
  )
  describe.skip(name, fn)
}

/** A standalone server on a free loopback port, answering PING. */
export async function startRedis(): Promise<RedisServer> {
  let server = await launch([])
  const { port } = server
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => server.stop(),
    kill: () => server.child.kill('SIGKILL'),
    async restart() {
      server.child.kill('SIGKILL')
      await server.exited
      server = spawnServer(port, [])
      await server.ready()
    },
  }
}

/** Three masters (no replicas) in a temp dir, returned once every node says `cluster_state:ok`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-cluster-'))
  leftovers.dirs.add(dir)
  const servers: Server[] = []
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()))
    rmSync(dir, { recursive: true, force: true })
    leftovers.dirs.delete(dir)
  }
  try {
    for (let i = 0; i < 3; i++) {
      servers.push(
        await launch(
          (port) => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '2000',
            '--dir',
            dir,
          ],
          { clusterBus: true },
        ),
      )
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`)
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${err.stderr || err.stdout || err.message}`,
      )
    })
    await until('cluster_state:ok on every node', async () => {
      const infos = await Promise.all(servers.map((s) => cli(s.port, 'cluster', 'info')))
      return infos.every((info) => info.includes('cluster_state:ok'))
    })
    return { nodes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

interface Server {
  readonly port: number
  readonly child: ChildProcess
  readonly exited: Promise<void>
  /** Resolves once this process logged it is listening and PING answers PONG. */
  ready(): Promise<void>
  stop(): Promise<void>
}

type Args = readonly string[] | ((port: number) => readonly string[])

/** Starts a server on a free port, picking another when the port was taken meanwhile. */
async function launch(args: Args, opts: { clusterBus?: boolean } = {}): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(opts.clusterBus ?? false)
    const server = spawnServer(port, typeof args === 'function' ? args(port) : args)
    try {
      await server.ready()
      return server
    } catch (err) {
      await server.stop()
      if (!(err instanceof PortInUse) || attempt >= 5) throw err
    }
  }
}

class PortInUse extends Error {}

function spawnServer(port: number, args: readonly string[]): Server {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  live.add(child)
  // redis-server logs to stdout; keep the tail for error messages (and keep the pipe drained).
  let log = ''
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let failed: Error | undefined
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      live.delete(child)
      resolve()
    }
    child.once('exit', done)
    child.once('error', (err) => {
      failed = err
      done()
    })
  })
  const gone = () => failed !== undefined || child.exitCode !== null || child.signalCode !== null

  return {
    port,
    child,
    exited,
    async ready() {
      await until(`redis-server on port ${port} to answer PING`, async () => {
        if (gone()) {
          if (/address already in use/i.test(log)) throw new PortInUse(`port ${port} is taken`)
          throw new Error(`redis-server on port ${port} exited: ${failed?.message ?? log.trim()}`)
        }
        // The log line proves this process is the one listening, not another server on the port.
        return /ready to accept connections/i.test(log) && (await cli(port, 'ping')) === 'PONG'
      })
    },
    async stop() {
      if (gone()) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** A loopback port nobody listens on (and, for cluster nodes, port + 10000 for the bus too). */
async function freePort(clusterBus: boolean): Promise<number> {
  for (;;) {
    const port = await listenAndClose(0)
    if (!clusterBus) return port
    if (port + 10_000 <= 65_535 && (await listenAndClose(port + 10_000).catch(() => 0))) return port
  }
}

function listenAndClose(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as AddressInfo).port
      srv.close(() => resolve(bound))
    })
  })
}

/** One `redis-cli` command; '' when it fails (server not up yet). */
async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      timeout: 2_000,
    })
    return stdout.trim()
  } catch {
    return ''
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(25)
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function onCi(): boolean {
  const ci = process.env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}
