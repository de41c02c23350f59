import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Command, InvalidArgumentError } from 'commander'
import { parseGatewayConfig } from '../config/gateway-config.js'
import { INIT_SECRETS, initConfig } from '../config/init.js'
import { createEngine } from '../engine/engine.js'
import { reportConfigError } from './check.js'
import { MemoryStore } from '../store/memory.js'

/**
 * `bulwark init --openapi FILE --upstream URL`: writes a starting config for the API the
 * document describes, checked (schema, contract, lint) before it is written.
 */
export function initCommand(): Command {
  return new Command('init')
    .description('write a starting config for an API from its OpenAPI document')
    .requiredOption('--openapi <file>', "the API's OpenAPI 3 document (YAML or JSON)")
    .option('--upstream <url>', "the backend's URL", 'http://127.0.0.1:3000')
    .option('-o, --out <file>', 'where to write the config', 'bulwark.yaml')
    .option(
      '--origin <url>',
      'a browser origin allowed to call the API (CORS; repeatable)',
      collect,
      [],
    )
    .option('--port <n>', 'the port the gateway listens on (default 8080)', port)
    .option('--issuer <url>', 'the token issuer (iss): secured operations get auth rules')
    .option('--audience <aud>', "the tokens' audience (aud), with --issuer")
    .option('--jwks <url>', "the issuer's JWKS URL (default: <issuer>/.well-known/jwks.json)")
    .option('--monitor', 'mode: monitor — log what would be refused, refuse nothing')
    .option(
      '--puzzles',
      'your sign-in and sign-up pages or apps answer proof-of-work puzzles (fetchWithChallenge): enforce the new-device puzzles against stuffing and mass sign-up',
    )
    .option('--force', 'overwrite the file if it exists')
    .action(
      async (opts: {
        openapi: string
        upstream: string
        out: string
        origin: string[]
        port?: number
        monitor?: boolean
        puzzles?: boolean
        force?: boolean
        issuer?: string
        audience?: string
        jwks?: string
      }) => {
        if ((opts.issuer === undefined) !== (opts.audience === undefined)) {
          console.error(
            'bulwark init: --issuer and --audience go together (tokens are checked for both)',
          )
          process.exitCode = 1
          return
        }
        if (existsSync(opts.out) && !opts.force) {
          console.error(
            `bulwark init: ${opts.out} exists; pass --force to overwrite it, or -o another file`,
          )
          process.exitCode = 1
          return
        }
        try {
          new URL(opts.upstream)
        } catch {
          console.error(
            `bulwark init: --upstream ${JSON.stringify(opts.upstream)} is not a URL (expected e.g. http://127.0.0.1:3000)`,
          )
          process.exitCode = 1
          return
        }
        try {
          const r = initConfig({
            openapi: opts.openapi,
            out: opts.out,
            upstream: opts.upstream,
            mode: opts.monitor ? 'monitor' : 'enforce',
            origins: opts.origin,
            ...(opts.port !== undefined ? { port: opts.port } : {}),
            ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
            ...(opts.audience !== undefined ? { audience: opts.audience } : {}),
            ...(opts.jwks !== undefined ? { jwksUri: opts.jwks } : {}),
            ...(opts.puzzles ? { puzzles: true } : {}),
          })
          // The promise: what init writes, `bulwark check` accepts (with the secrets set).
          const env = { ...process.env }
          for (const s of INIT_SECRETS) env[s] ??= randomBytes(32).toString('base64')
          const config = parseGatewayConfig(r.text, opts.out, env)
          const engine = createEngine(config, {
            store: new MemoryStore(),
            configFile: opts.out,
            // The document's path is written relative to the config's own directory.
            configDir: dirname(resolve(opts.out)),
          })
          await engine.close()
          await mkdir(dirname(resolve(opts.out)), { recursive: true })
          await writeFile(opts.out, r.text)
          const f = r.found
          console.log(
            `${opts.out}: written — ${f.operations} operations; sign-in: ${f.signIn.join(', ') || 'none found'}; sign-up: ${f.signUp.join(', ') || 'none found'}; password reset: ${f.reset.join(', ') || 'none found'}; sweep limits on ${f.sweeps} kind(s) of id and ${f.listings} listing position(s); ${f.authRules} auth rule(s); mode ${opts.monitor ? 'monitor' : f.monitorRules.length > 0 ? `enforce, but for ${f.monitorRules.join(', ')} (monitor: see the note)` : 'enforce'}`,
          )
          for (const n of [
            ...r.notes,
            ...engine.warnings.filter(
              (w) => !/secret is not set|and no auth block is configured/.test(w),
            ),
          ])
            console.log(`note: ${n}`)
          console.log(`next: bulwark check -c ${opts.out} && bulwark serve -c ${opts.out}`)
        } catch (err) {
          reportConfigError(err)
        }
      },
    )
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('expected a port number (1-65535)')
  return n
}
