/**
 * Tiny flag readers shared by the standalone bench processes (`upstream`, `baseline-proxy`).
 * `run.ts` uses `node:util` `parseArgs` directly; these helpers keep the child entry points
 * dependency-free and fast to start.
 */

/**
 * Returns the value following `--name` (or given as `--name=value`) in `argv`, or `undefined`.
 *
 * @param argv - Arguments to search, usually `process.argv.slice(2)`.
 * @param name - Flag name without the leading dashes.
 */
export function readFlag(argv: readonly string[], name: string): string | undefined {
  const long = `--${name}`
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === long) return argv[i + 1]
    if (arg.startsWith(`${long}=`)) return arg.slice(long.length + 1)
  }
  return undefined
}

/**
 * Reads a required TCP port flag (`0` allowed: the OS picks one). Exits the process with a
 * message when the flag is missing or not a port number.
 *
 * @param argv - Arguments to search.
 * @param name - Flag name without the leading dashes, e.g. `port`.
 */
export function requirePort(argv: readonly string[], name: string): number {
  const raw = readFlag(argv, name)
  const port = Number(raw)
  if (raw === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`missing or invalid --${name} (got ${raw ?? 'nothing'})`)
    process.exit(2)
  }
  return port
}
