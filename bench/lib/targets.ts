/**
 * The benchmark targets. Each entry of {@link TARGETS} says how to start one server under test;
 * adding a target (Bulwark with a Redis store, a JWT policy, …) is one entry here.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parse, stringify } from 'yaml'
import { getFreePort } from './net.js'
import { pinProcess } from './proc.js'

/** What a target's {@link TargetSpec.plan} gets to build its launch plan. */
export interface TargetContext {
  /** Repository root (the directory holding `package.json`). */
  rootDir: string
  /** Scratch directory for generated configs; removed after the run. */
  tmpDir: string
  /** Free loopback port the target must listen on (host 127.0.0.1). */
  port: number
  /** Base URL of the bench upstream, e.g. `http://127.0.0.1:40123`. */
  upstreamUrl: string
  /** `--pin`: the CPUs of the load generator, where helper servers (Redis) belong too. */
  loadCpus?: string
}

/** Start `node <script> ...args` and measure that process. */
export interface SpawnPlan {
  kind: 'spawn'
  /** Script run with the current `node` binary. */
  script: string
  /** Arguments after the script. */
  args: string[]
  /** Working directory, the repository root by default. */
  cwd?: string
  /** Extra environment variables for the process. */
  env?: Record<string, string>
  /** Extra request headers for every scenario against this target (e.g. `authorization`). */
  headers?: Record<string, string>
}

/** Measure the shared bench upstream itself (no proxy in between). */
export interface UpstreamPlan {
  kind: 'upstream'
}

/** The target cannot run here; `reason` is printed. */
export interface SkipPlan {
  kind: 'skip'
  reason: string
}

/** How to run a target, as returned by {@link TargetSpec.plan}. */
export type TargetPlan = SpawnPlan | UpstreamPlan | SkipPlan

/** One row of the target table. */
export interface TargetSpec {
  /** Name used by `--only` and in the results. */
  name: string
  /** One-line description for `--list` and the README. */
  description: string
  /** Only measured when named in `--only` (or with `--all`), e.g. reference points or targets
   * needing extra services. */
  optional?: boolean
  /** Builds the launch plan (may write config files into `ctx.tmpDir`). */
  plan(ctx: TargetContext): Promise<TargetPlan> | TargetPlan
}

/** Name of the target all ratios are computed against. */
export const BASELINE = 'baseline'

/** Path of a compiled sibling bench script (this file lives in `dist/bench/lib/`). */
function benchScript(name: string): string {
  return fileURLToPath(new URL(`../${name}`, import.meta.url))
}

/** Spawn plan for the Bulwark CLI, or a skip plan when the CLI is not built. */
function bulwarkServe(ctx: TargetContext, configFile: string): TargetPlan {
  const bin = join(ctx.rootDir, 'bin', 'bulwark.js')
  const main = join(ctx.rootDir, 'dist', 'src', 'cli', 'main.js')
  if (!existsSync(bin) || !existsSync(main)) {
    return { kind: 'skip', reason: 'Bulwark CLI not built (dist/src/cli/main.js missing)' }
  }
  return { kind: 'spawn', script: bin, args: ['serve', '--config', configFile] }
}

/** Minimal Bulwark config: one upstream, one catch-all route, no policies. */
function emptyConfig(ctx: TargetContext): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: ctx.port },
    upstreams: { app: { url: ctx.upstreamUrl } },
    routes: [{ path: '/*', upstream: 'app' }],
    // The admin listener is on by default; targets measure the data path without it (the
    // `bulwark-admin` target measures it on).
    admin: { enabled: false },
  }
}

/**
 * Rewrites a parsed Bulwark config for the bench: `server.host`/`server.port` to the bench's,
 * every `upstreams.*.url` to the bench upstream, and string values starting with `./` or `../`
 * to absolute paths (the rewritten file lives in a temp directory, not next to the original).
 */
function rewriteConfig(config: unknown, ctx: TargetContext, sourceDir: string): unknown {
  const absolutise = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return (value.startsWith('./') || value.startsWith('../')) && !isAbsolute(value)
        ? resolve(sourceDir, value)
        : value
    }
    if (Array.isArray(value)) return value.map(absolutise)
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, absolutise(v)]))
    }
    return value
  }
  const out = absolutise(config) as Record<string, unknown>
  const server = (out.server ?? {}) as Record<string, unknown>
  out.server = { ...server, host: '127.0.0.1', port: ctx.port }
  out.admin = { enabled: false }
  const upstreams = out.upstreams
  if (upstreams !== null && typeof upstreams === 'object') {
    for (const [name, entry] of Object.entries(upstreams as Record<string, unknown>)) {
      ;(upstreams as Record<string, unknown>)[name] =
        entry !== null && typeof entry === 'object'
          ? { ...(entry as Record<string, unknown>), url: ctx.upstreamUrl }
          : ctx.upstreamUrl
    }
  }
  return out
}

/**
 * Raises every limit (`limits.rules[].limit`, `behavior.velocity[].limit`) and behaviour
 * threshold so the policies still run in full but never reject the bench's one client.
 */
function openLimits(config: unknown): void {
  const c = config as {
    limits?: { rules?: { limit?: number }[] }
    behavior?: { velocity?: { limit?: number }[]; thresholds?: { score: number }[] }
  }
  for (const rule of c.limits?.rules ?? [])
    if (rule && typeof rule === 'object') rule.limit = 1_000_000_000
  for (const v of c.behavior?.velocity ?? [])
    if (v && typeof v === 'object') v.limit = 1_000_000_000
  if (c.behavior) {
    const t = c.behavior.thresholds ?? [{ score: 40 }]
    c.behavior.thresholds = t.map((x) => ({ ...x, score: x.score * 1e9 }))
  }
}

/** Three limit rules of the kinds the demo uses, with limits no bench client reaches. */
function threeRules(ctx: TargetContext, store: Record<string, unknown>): Record<string, unknown> {
  return {
    ...emptyConfig(ctx),
    store,
    limits: {
      rules: [
        { id: 'ip-ceiling', key: ['ip'], limit: 1_000_000_000, window: '60s', algorithm: 'gcra' },
        { id: 'per-route', key: ['ip', 'route'], limit: 1_000_000_000, window: '60s' },
        {
          id: 'sweep',
          paths: ['/api/products/:id'],
          key: ['fingerprint'],
          count: 'distinct',
          distinct: 'param:id',
          limit: 1_000_000_000,
          window: '60s',
        },
      ],
    },
  }
}

/**
 * Starts a redis-server for the run (killed when the bench exits) on a free port. Resolves its
 * URL, or why there is none.
 */
async function benchRedis(ctx: TargetContext): Promise<{ url: string } | { reason: string }> {
  const { spawnSync, spawn } = await import('node:child_process')
  if (spawnSync('redis-server', ['--version']).status !== 0)
    return { reason: 'redis-server not found (apt-get install -y redis-server)' }
  const port = await getFreePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  if (ctx.loadCpus !== undefined && child.pid !== undefined) pinProcess(child.pid, ctx.loadCpus)
  // Killed when the bench exits, and never what keeps it running once the results are out.
  child.unref()
  process.once('exit', () => child.kill('SIGKILL'))
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .includes('PONG')
    )
      return { url: `redis://127.0.0.1:${port}` }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  return { reason: `redis-server on port ${port} did not answer PING within 10 s` }
}

/** The demo config's policy blocks (the rest — server, upstreams, routes, identity — stays). */
const LAYER_BLOCKS = ['access', 'cors', 'contract', 'auth', 'limits', 'behavior', 'deception']

/**
 * A target running `examples/shop/bulwark.yaml` rewritten for the bench (see
 * {@link rewriteConfig}), with its rate limits optionally opened up.
 */
function demoTarget(
  name: string,
  description: string,
  open: boolean,
  keepsCookie = false,
  only?: readonly string[],
): TargetSpec {
  return {
    name,
    description,
    plan: async (ctx) => {
      const source = join(ctx.rootDir, 'examples', 'shop', 'bulwark.yaml')
      if (!existsSync(source)) return { kind: 'skip', reason: 'examples/shop/bulwark.yaml missing' }
      const config = rewriteConfig(parse(readFileSync(source, 'utf8')), ctx, dirname(source))
      if (only !== undefined)
        for (const layer of LAYER_BLOCKS)
          if (!only.includes(layer)) delete (config as Record<string, unknown>)[layer]
      if (open) openLimits(config)
      const file = join(ctx.tmpDir, `${name}.yaml`)
      writeFileSync(file, stringify(config))
      const plan = bulwarkServe(ctx, file)
      if (!keepsCookie || plan.kind !== 'spawn') return plan
      const cookie = await deviceCookie(ctx, file)
      return 'reason' in cookie
        ? { kind: 'skip', reason: cookie.reason }
        : { ...plan, headers: cookie }
    },
  }
}

/**
 * A `cookie` header with a device cookie the config at `file` accepts, as a browser sends back
 * after its first visit: made by Bulwark's own code with the config's secret.
 */
async function deviceCookie(
  ctx: TargetContext,
  file: string,
): Promise<Record<string, string> | { reason: string }> {
  const dist = (p: string) => pathToFileURL(join(ctx.rootDir, 'dist', 'src', p)).href
  const { loadGatewayConfig } = (await import(
    dist('config/gateway-config.js')
  )) as typeof import('../../src/config/gateway-config.js')
  const { deviceCookies } = (await import(
    dist('identity/device.js')
  )) as typeof import('../../src/identity/device.js')
  const spec = (await loadGatewayConfig(file)).identity.device
  if (!spec) return { reason: 'the demo config has no identity.device' }
  const set = deviceCookies(spec).read({}, Date.now()).setCookie!
  return { cookie: set.slice(0, set.indexOf(';')) }
}

/**
 * The target table, in display order. `upstream` and `baseline` need nothing but this directory;
 * Bulwark targets are skipped with a note when their CLI or config is missing. Optional targets
 * run only when asked for by name (`--only`) or with `--all`.
 */
export const TARGETS: readonly TargetSpec[] = [
  {
    name: 'upstream',
    description: 'the bench upstream hit directly: the ceiling, no proxy hop',
    plan: () => ({ kind: 'upstream' }),
  },
  {
    name: BASELINE,
    description: 'bare node:http + undici Pool.dispatch pass-through proxy: the bar to match',
    plan: (ctx) => ({
      kind: 'spawn',
      script: benchScript('baseline-proxy.js'),
      args: ['--port', String(ctx.port), '--upstream', ctx.upstreamUrl, '--mode', 'dispatch'],
    }),
  },
  {
    name: 'baseline-request',
    description: 'the same proxy using pool.request + stream.pipeline (reference point)',
    optional: true,
    plan: (ctx) => ({
      kind: 'spawn',
      script: benchScript('baseline-proxy.js'),
      args: ['--port', String(ctx.port), '--upstream', ctx.upstreamUrl, '--mode', 'request'],
    }),
  },
  {
    name: 'bulwark-empty',
    description: 'Bulwark with a minimal config: one upstream, one catch-all route, no policies',
    plan: (ctx) => {
      const file = join(ctx.tmpDir, 'bulwark-empty.yaml')
      writeFileSync(file, stringify(emptyConfig(ctx)))
      return bulwarkServe(ctx, file)
    },
  },
  {
    name: 'bulwark-admin',
    description:
      'bulwark-empty with the admin listener on (metrics, recent events, live feed); target >= 97% of bulwark-empty',
    plan: (ctx) => {
      const file = join(ctx.tmpDir, 'bulwark-admin.yaml')
      writeFileSync(file, stringify({ ...emptyConfig(ctx), admin: { enabled: true, port: 0 } }))
      return bulwarkServe(ctx, file)
    },
  },
  {
    name: 'bulwark-limits3',
    description:
      'Bulwark with 3 limit rules (ip gcra, ip+route sliding, distinct ids per fingerprint), memory store',
    plan: (ctx) => {
      const file = join(ctx.tmpDir, 'bulwark-limits3.yaml')
      writeFileSync(file, stringify(threeRules(ctx, { type: 'memory' })))
      return bulwarkServe(ctx, file)
    },
  },
  {
    name: 'bulwark-limits3-redis',
    description:
      'the same 3 rules on a Redis store started for the run (one script call per request, coalesced across the requests of one event-loop turn)',
    optional: true,
    plan: async (ctx) => {
      const redis = await benchRedis(ctx)
      if ('reason' in redis) return { kind: 'skip', reason: redis.reason }
      const url = redis.url
      const file = join(ctx.tmpDir, 'bulwark-limits3-redis.yaml')
      writeFileSync(file, stringify(threeRules(ctx, { type: 'redis', url, timeout: '500ms' })))
      return bulwarkServe(ctx, file)
    },
  },
  demoTarget(
    'bulwark-demo',
    'Bulwark with examples/shop/bulwark.yaml as is: the flood is throttled (429), then the client is deceived (slow fakes)',
    false,
  ),
  demoTarget(
    'bulwark-demo-open',
    'the demo config with every limit raised to 1e9: all policies evaluated, all traffic allowed; the client discards cookies, so every request is a first visit given a new device cookie',
    true,
  ),
  demoTarget(
    'bulwark-demo-behavior',
    "issue 6's policy: the demo config's limits and behaviour (flows, signals, risk) with its identity, every limit raised as in bulwark-demo-open, for a client that keeps its device cookie; the contract, auth, CORS and deception blocks left out (each has its own benchmark)",
    true,
    true,
    ['limits', 'behavior'],
  ),
  demoTarget(
    'bulwark-demo-browser',
    'bulwark-demo-open for a client that sends back its device cookie, as a browser does: the cookie is checked, none is made',
    true,
    true,
  ),
]
