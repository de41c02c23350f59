/**
 * `bulwark replay`: runs access logs through a config with every rule in monitor mode and
 * reports what would have been throttled, blocked or deceived — by action, by rule (with
 * example lines) and by identity — so a rule is tried on real traffic before it is enforced.
 * @see ../../docs/audit-replay.md#replay
 */
import { Command } from 'commander'
import { loadGatewayConfig } from '../config/gateway-config.js'
import type { Config } from '../config/schema.js'
import {
  badInput,
  collect,
  EXIT_BAD_INPUT,
  EXIT_OK,
  passOverLogs,
  positive,
  processIo,
  type CommandIo,
} from '../logs/command-io.js'
import { checkLogs } from '../logs/scan.js'
import { formatReplay } from '../replay/format-replay.js'
import { runReplay } from '../replay/replay.js'

/** The parsed command line (option values as typed). */
export interface ReplayCommandOptions {
  readonly log: readonly string[]
  readonly config: string
  readonly json?: boolean
  readonly top?: string
  readonly examples?: string
  readonly progress?: boolean
}

/** Runs the command; resolves the exit code. Tests call it with their own `io`. */
export async function replay(
  opts: ReplayCommandOptions,
  io: CommandIo = processIo,
): Promise<number> {
  if (opts.log.length === 0) {
    io.err('bulwark replay: give at least one log: --log FILE (or - for stdin)')
    return EXIT_BAD_INPUT
  }
  const top = positive(opts.top, '--top') ?? 10
  const examples = positive(opts.examples, '--examples') ?? 3
  for (const v of [top, examples])
    if (typeof v === 'string') {
      io.err(`bulwark replay: ${v}`)
      return EXIT_BAD_INPUT
    }
  let config: Config
  try {
    config = await loadGatewayConfig(opts.config)
    await checkLogs(opts.log)
  } catch (err) {
    return badInput(err, io)
  }
  const report = await passOverLogs('replay', opts.log, io, opts.progress, (onProgress) =>
    runReplay(config, opts.log, {
      configFile: opts.config,
      top: Math.floor(top as number),
      examples: Math.floor(examples as number),
      onProgress,
    }),
  )
  if (typeof report === 'number') return report
  io.out(opts.json ? JSON.stringify(report, null, 2) : formatReplay(report))
  return EXIT_OK
}

/** The commander wiring; `main.ts` adds it. */
export function replayCommand(): Command {
  return new Command('replay')
    .description(
      'run access logs through a config in monitor mode: what would have been throttled, blocked or deceived',
    )
    .argument('[logs...]', 'log files (same as --log)')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON) to try')
    .option(
      '-l, --log <file>',
      'access log: Bulwark JSON or nginx combined, .gz or - for stdin (repeatable)',
      collect,
    )
    .option('--json', 'print the report as JSON')
    .option('--top <n>', 'identities to list', '10')
    .option('--examples <n>', 'example lines per rule', '3')
    .option('--no-progress', 'no progress bar')
    .action(
      async (logs: string[], opts: Omit<ReplayCommandOptions, 'log'> & { log?: string[] }) => {
        process.exitCode = await replay({ ...opts, log: [...(opts.log ?? []), ...logs] })
      },
    )
}
