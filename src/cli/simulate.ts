/**
 * `bulwark simulate`: people and bots (named by OWASP Automated Threat id) against the demo, in
 * this process, or against a running gateway on this machine; prints what became of their
 * requests. Stops by itself after `--duration`.
 * @see ../../docs/simulate.md
 */
import { Command } from 'commander'
import { parseDuration } from '../config/units.js'
import { ConfigError } from '../errors.js'
import { EXIT_BAD_INPUT, EXIT_OK, processIo, type CommandIo } from '../logs/command-io.js'
import { formatReport } from '../simulate/format-report.js'
import { SCENARIOS } from '../simulate/scenarios/registry.js'
import { runSimulation } from '../simulate/simulate.js'

/** The command's flags as commander hands them over (numbers still strings). */
export interface SimulateCommandOptions {
  readonly demo?: boolean
  readonly target?: string
  readonly allowRemote?: boolean
  readonly config?: string
  readonly duration?: string
  readonly speed?: string
  readonly seed?: string
  readonly botHeaders?: string
  readonly scenarios?: string
  readonly json?: boolean
  readonly list?: boolean
}

/** Runs the command; resolves the exit code. Tests call it with their own `io`. */
export async function simulate(
  opts: SimulateCommandOptions,
  io: Pick<CommandIo, 'out' | 'err'> = processIo,
): Promise<number> {
  if (opts.list) {
    const width = Math.max(...SCENARIOS.map((s) => s.id.length))
    for (const s of SCENARIOS)
      io.out(`${s.id.padEnd(width)}  ${(s.threat ?? 'people').padEnd(9)}  ${s.title}`)
    return EXIT_OK
  }
  const fail = (message: string) => {
    io.err(`bulwark simulate: ${message}`)
    return EXIT_BAD_INPUT
  }
  if (opts.demo && opts.target !== undefined) return fail('give --demo or --target, not both')
  const durationMs = parseDuration(opts.duration ?? '30s')
  if (!durationMs)
    return fail(
      `--duration must be a duration like 20s or 2m, got ${JSON.stringify(opts.duration)}`,
    )
  const speed = Number(opts.speed ?? '1')
  if (!(speed > 0 && Number.isFinite(speed)))
    return fail(`--speed must be a positive number, got ${JSON.stringify(opts.speed)}`)
  const seed = Number(opts.seed ?? '1')
  if (!Number.isSafeInteger(seed))
    return fail(`--seed must be an integer, got ${JSON.stringify(opts.seed)}`)
  const botHeaders = opts.botHeaders ?? 'older'
  if (botHeaders !== 'older' && botHeaders !== 'people')
    return fail(`--bot-headers must be older or people, got ${JSON.stringify(opts.botHeaders)}`)
  const scenarios = (opts.scenarios ?? '').split(',').filter((s) => s.trim() !== '')
  try {
    if (!opts.json)
      io.err(
        `simulating for ${opts.duration ?? '30s'} against ${opts.target ?? 'the in-process demo'}…`,
      )
    const report = await runSimulation({
      ...(opts.target !== undefined ? { target: opts.target } : {}),
      ...(opts.config !== undefined ? { config: opts.config } : {}),
      allowRemote: opts.allowRemote === true,
      durationMs,
      speed,
      seed,
      botHeaders,
      scenarios,
    })
    io.out(opts.json ? JSON.stringify(report, null, 2) : formatReport(report))
    return EXIT_OK
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.code}\n${err.message}`)
      return EXIT_BAD_INPUT
    }
    // Options runSimulation refuses (a remote target, an unknown scenario); anything else is a bug.
    if (err instanceof TypeError && /^(runSimulation: |unknown scenario)/.test(err.message))
      return fail(err.message.replace(/^runSimulation: /, ''))
    throw err
  }
}

/** The commander wiring; `main.ts` adds it. */
export function simulateCommand(): Command {
  return new Command('simulate')
    .description(
      'send simulated people and bots (OWASP automated threats) through a gateway and report who got through',
    )
    .option('--demo', 'run the demo shop and a gateway in this process (the default)')
    .option('-t, --target <url>', 'a running gateway instead (loopback unless --allow-remote)')
    .option('--allow-remote', 'allow a --target that is not on this machine')
    .option('-c, --config <file>', 'gateway config for --demo (default: the demo config)')
    .option('-d, --duration <time>', 'how long the run lasts, real time', '30s')
    .option('--speed <n>', 'simulated time runs n times faster (limits still see real time)', '1')
    .option('--seed <n>', 'seed for every random choice', '1')
    .option(
      '--bot-headers <set>',
      "the bots' header sets: older browser releases than people's, or people's own",
      'older',
    )
    .option('-s, --scenarios <list>', 'comma-separated: ids, OAT ids, humans, bots (default: all)')
    .option('--json', 'print the report as JSON')
    .option('--list', 'list the scenarios and exit')
    .action(async (opts: SimulateCommandOptions) => {
      process.exitCode = await simulate(opts)
    })
}
