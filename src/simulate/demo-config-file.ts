/**
 * Where the demo's gateway config lives, whether this module runs from `src/` (tests), from the
 * build in `dist/src/` (the CLI) or elsewhere with the repository as working directory (the demo
 * config names its OpenAPI file relative to it anyway). Used by `demo-target.ts`.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const FILE = 'examples/shop/bulwark.yaml'

/**
 * @throws {TypeError} when none of the three places has it.
 * @example demoConfigFile() // '/…/bulwark/examples/shop/bulwark.yaml'
 */
export function demoConfigFile(): string {
  const candidates = [
    ...['../../', '../../../'].map((up) => fileURLToPath(new URL(up + FILE, import.meta.url))),
    resolve(FILE),
  ]
  const found = candidates.find((f) => existsSync(f))
  if (found) return found
  throw new TypeError(`runSimulation: the demo config ${FILE} was not found; pass a config`)
}
