/**
 * The `bulwark` command line: one subcommand per file in src/cli/.
 * @see ../../README.md#command-line
 */
import { Command } from 'commander'
import { BulwarkError } from '../errors.js'
import { checkCommand } from './check.js'
import { demoCommand } from './demo.js'
import { schemaCommand } from './schema.js'
import { serveCommand } from './serve.js'

const program = new Command()
  .name('bulwark')
  .description(
    'Protects HTTP APIs from AI-driven bots: a reverse proxy, or middleware for Node frameworks.',
  )
  .version('0.1.0')

program.addCommand(serveCommand())
program.addCommand(checkCommand())
program.addCommand(demoCommand())
program.addCommand(schemaCommand())
program.addCommand((await import('./init.js')).initCommand())
program.addCommand((await import('./audit.js')).auditCommand())
program.addCommand((await import('./replay.js')).replayCommand())
program.addCommand((await import('./simulate.js')).simulateCommand())

try {
  await program.parseAsync(process.argv)
} catch (err) {
  // Bulwark's own errors say what went wrong and what to change: no stack trace.
  if (!(err instanceof BulwarkError)) throw err
  console.error(`bulwark: ${err.code}\n${err.message}`)
  process.exit(1)
}
