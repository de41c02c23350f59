import { Command } from 'commander'
import { configJsonSchema } from '../config/json-schema.js'

/** `bulwark schema`: prints the config's JSON Schema (for editor completion). */
export function schemaCommand(): Command {
  return new Command('schema')
    .description('print the JSON Schema of the config file')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`)
    })
}
