/**
 * `bulwark audit`: reads access logs (Bulwark's JSON log, nginx/Apache combined; plain, .gz or
 * `-`), optionally an OpenAPI file, and reports every endpoint seen with its status mix and
 * per-IP rate percentiles, undocumented endpoints, and a suggested config in monitor mode.
 * @see ../../docs/audit-replay.md#audit
 */
import { writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { runAudit } from '../audit/audit.js'
import { formatAudit } from '../audit/format-audit.js'
import { readOpenApi, type ApiSpec } from '../audit/openapi.js'
import { suggestConfig } from '../audit/suggest.js'
import {
  collect,
  EXIT_BAD_INPUT,
  EXIT_OK,
  passOverLogs,
  positive,
  processIo,
  type CommandIo,
} from '../logs/command-io.js'
import { fsReason } from '../logs/input-error.js'

/** The parsed command line (option values as typed). */
export interface AuditCommandOptions {
  readonly log: readonly string[]
  readonly openapi?: string
  readonly out?: string
  readonly json?: boolean
  readonly margin?: string
  readonly minLimit?: string
  /** false with `--no-progress`. */
  readonly progress?: boolean
}

/** Runs the command; resolves the exit code. Tests call it with their own `io`. */
export async function audit(opts: AuditCommandOptions, io: CommandIo = processIo): Promise<number> {
  if (opts.log.length === 0) {
    io.err('bulwark audit: give at least one log: --log FILE (or - for stdin)')
    return EXIT_BAD_INPUT
  }
  const margin = positive(opts.margin, '--margin') ?? 2
  const minLimit = positive(opts.minLimit, '--min-limit') ?? 5
  for (const v of [margin, minLimit])
    if (typeof v === 'string') {
      io.err(`bulwark audit: ${v}`)
      return EXIT_BAD_INPUT
    }
  const report = await passOverLogs('audit', opts.log, io, opts.progress, async (onProgress) => {
    let api: ApiSpec | undefined
    if (opts.openapi !== undefined) api = await readOpenApi(opts.openapi)
    return runAudit(opts.log, { ...(api ? { api } : {}), onProgress })
  })
  if (typeof report === 'number') return report
  const suggestion = suggestConfig(report, {
    margin: margin as number,
    minLimit: minLimit as number,
  })
  if (opts.out !== undefined) {
    try {
      await writeFile(opts.out, suggestion.text)
    } catch (err) {
      io.err(`bulwark audit: cannot write ${opts.out} (${fsReason(err)})`)
      return EXIT_BAD_INPUT
    }
  }
  if (opts.json) {
    const { text, ...rest } = suggestion
    io.out(
      JSON.stringify(
        { ...report, suggestion: { ...rest, ...(opts.out ? { file: opts.out } : { text }) } },
        null,
        2,
      ),
    )
    return EXIT_OK
  }
  io.out(formatAudit(report))
  const summary = `Suggested config: ${suggestion.rules} limit rules, mode: monitor`
  io.out('')
  if (opts.out !== undefined)
    io.out(
      `${summary}, written to ${opts.out} (try it: bulwark replay --config ${opts.out} --log …)`,
    )
  else io.out(`${summary} (write it to a file with --out):\n\n${suggestion.text}`)
  for (const n of suggestion.notes) io.out(`note: ${n}`)
  return EXIT_OK
}

/** The commander wiring; `main.ts` adds it. */
export function auditCommand(): Command {
  return new Command('audit')
    .description(
      'report the endpoints, undocumented routes and per-identity rates in access logs, and suggest a config',
    )
    .argument('[logs...]', 'log files (same as --log)')
    .option(
      '-l, --log <file>',
      'access log: Bulwark JSON or nginx combined, .gz or - for stdin (repeatable)',
      collect,
    )
    .option(
      '--openapi <file>',
      'OpenAPI 3 / Swagger 2 file (YAML or JSON): its templates name endpoints',
    )
    .option('-o, --out <file>', 'write the suggested config here')
    .option('--json', 'print the report as JSON')
    .option('--margin <n>', 'limit = p99 per-identity rate per minute × this', '2')
    .option('--min-limit <n>', 'no suggested limit below this', '5')
    .option('--no-progress', 'no progress bar')
    .action(async (logs: string[], opts: Omit<AuditCommandOptions, 'log'> & { log?: string[] }) => {
      process.exitCode = await audit({ ...opts, log: [...(opts.log ?? []), ...logs] })
    })
}
