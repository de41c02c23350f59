/**
 * TOTP enrolment, for the admin API: makes a new secret for an account, stores it sealed, and
 * returns what the user's authenticator app needs. Called with the engine in force, so the
 * secret is sealed with the configured key and written to the configured store.
 * @see ../../../docs/auth.md#authtotp
 */
import type { Engine } from '../../engine/engine.js'
import type { AuthLayer } from './layer.js'
import type { TotpEnrolment } from './totp.js'

/**
 * Enrols `account` (a token `sub`, exactly as the IdP writes it), replacing an earlier secret.
 * Throws TypeError when the engine has no `auth.totp` block.
 * @example
 * const { secret, otpauthUrl } = await enrollTotp(gateway.engine, 'alice')
 */
export async function enrollTotp(
  engine: Pick<Engine, 'layers'>,
  account: string,
): Promise<TotpEnrolment> {
  const layer = engine.layers.find((l): l is AuthLayer => l.name === 'auth' && 'enrollTotp' in l)
  if (!layer?.enrollTotp) throw new TypeError('enrollTotp: the config has no auth.totp block')
  return layer.enrollTotp(account)
}
