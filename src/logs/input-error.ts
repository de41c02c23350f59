/**
 * Bad input to `bulwark audit` and `bulwark replay`: a log or OpenAPI file that cannot be read
 * or used. The CLI prints the message and exits 1. (Config problems stay `ConfigError`.)
 * @see ../../docs/audit-replay.md#exit-codes
 */
import { BulwarkError, type BulwarkErrorCode } from '../errors.js'

/** The catalogue's codes for bad input to `audit` and `replay` (docs/errors.md). */
export type InputErrorCode = Extract<
  BulwarkErrorCode,
  `ERR_LOG_${string}` | `ERR_OPENAPI_${string}`
>

/**
 * @example throw new InputError('ERR_LOG_UNREADABLE', 'access.log', 'cannot read log (EACCES)')
 */
export class InputError extends BulwarkError {
  declare readonly code: InputErrorCode
  /** The file at fault (`-` for stdin). */
  readonly file: string
  constructor(code: InputErrorCode, file: string, message: string, options?: ErrorOptions) {
    super(code, `${file}: ${message}`, options)
    this.file = file
  }
}

/** Node's fs message without the trailing syscall and path: `ENOENT: no such file or directory`. */
export function fsReason(err: unknown): string {
  return err instanceof Error ? err.message.split(', ')[0]! : String(err)
}
