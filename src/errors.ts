/**
 * The one catalogue of Bulwark's error codes. Every code is documented in docs/errors.md and
 * tests pin code and message exactly.
 *
 * Three kinds of error, each handled in one place:
 * - misuse of the API throws `TypeError` at once, naming the option;
 * - config problems throw {@link ConfigError} while loading or compiling (never on the hot path;
 *   a reload that fails keeps the old engine);
 * - hostile or malformed requests are data, not exceptions: they become a block verdict;
 * - bad input to `bulwark audit` / `replay` (a log or OpenAPI file) throws `InputError`
 *   (src/logs/input-error.ts), which the CLI prints before exiting 1.
 */
export type BulwarkErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_UNREADABLE'
  | 'ERR_CONFIG_PARSE'
  | 'ERR_CONFIG_ENV'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORE_TIMEOUT'
  | 'ERR_UPSTREAM_UNREACHABLE'
  | 'ERR_UPSTREAM_TIMEOUT'
  | 'ERR_LISTEN'
  | 'ERR_LOG_UNREADABLE'
  | 'ERR_LOG_EMPTY'
  | 'ERR_OPENAPI_UNREADABLE'
  | 'ERR_OPENAPI_INVALID'

export class BulwarkError extends Error {
  readonly code: BulwarkErrorCode
  constructor(code: BulwarkErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/**
 * `ERR_LISTEN` for a socket that cannot be bound, saying why in words and what to change.
 * @example
 * listenError('gateway', '127.0.0.1', 8080, err, '--port or server.port')
 * // gateway: cannot listen on 127.0.0.1:8080: the port is in use by another process (stop it, or choose another port: --port or server.port)
 */
export function listenError(
  what: string,
  host: string,
  port: number,
  err: NodeJS.ErrnoException,
  portSetting: string,
): BulwarkError {
  const why =
    err.code === 'EADDRINUSE'
      ? `the port is in use by another process (stop it, or choose another port: ${portSetting})`
      : err.code === 'EACCES'
        ? `permission denied (ports below 1024 need privileges: choose another port, ${portSetting})`
        : err.code === 'EADDRNOTAVAIL'
          ? 'this machine has no such address (check the host setting)'
          : (err.code ?? err.message)
  return new BulwarkError('ERR_LISTEN', `${what}: cannot listen on ${host}:${port}: ${why}`, {
    cause: err,
  })
}

/**
 * A config file that cannot be used. The message reads
 * `bulwark.yaml:14 limits.rules[2].window: expected a duration like "60s", got "1 minute"`.
 */
export class ConfigError extends BulwarkError {
  readonly file: string
  readonly line: number | undefined
  readonly path: string
  readonly hint: string | undefined
  /** Every problem found, when there was more than one; `message` lists them all. */
  readonly issues: readonly ConfigIssue[]
  constructor(
    code: 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_UNREADABLE' | 'ERR_CONFIG_PARSE' | 'ERR_CONFIG_ENV',
    issues: readonly ConfigIssue[],
    options?: ErrorOptions,
  ) {
    super(code, issues.map(formatIssue).join('\n'), options)
    const first = issues[0]
    this.file = first?.file ?? ''
    this.line = first?.line
    this.path = first?.path ?? ''
    this.hint = first?.hint
    this.issues = issues
  }
}

export interface ConfigIssue {
  readonly file: string
  readonly line?: number
  /** Key path such as `limits.rules[2].window`; empty for the whole file. */
  readonly path: string
  readonly message: string
  readonly hint?: string
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line === undefined ? i.file : `${i.file}:${i.line}`
  const path = i.path ? ` ${i.path}:` : ''
  const hint = i.hint ? ` (${i.hint})` : ''
  return `${where}${path} ${i.message}${hint}`
}
