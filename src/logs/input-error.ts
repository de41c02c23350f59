/**
 * Bad input to `bulwark audit` and `bulwark replay`: a log or OpenAPI file that cannot be read
 * or used. The CLI prints the message and exits 1. (Config problems stay `ConfigError`.)
 * @see ../../docs/audit-replay.md#exit-codes
 */
export type InputErrorCode =
  'ERR_LOG_UNREADABLE' | 'ERR_LOG_EMPTY' | 'ERR_OPENAPI_UNREADABLE' | 'ERR_OPENAPI_INVALID'

/**
 * @example throw new InputError('ERR_LOG_UNREADABLE', 'access.log', 'cannot read log (EACCES)')
 */
export class InputError extends Error {
  readonly code: InputErrorCode
  /** The file at fault (`-` for stdin). */
  readonly file: string
  constructor(code: InputErrorCode, file: string, message: string, options?: ErrorOptions) {
    super(`${file}: ${message}`, options)
    this.name = new.target.name
    this.code = code
    this.file = file
  }
}

/** Node's fs message without the trailing syscall and path: `ENOENT: no such file or directory`. */
export function fsReason(err: unknown): string {
  return err instanceof Error ? err.message.split(', ')[0]! : String(err)
}
