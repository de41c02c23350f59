/**
 * Seals small secrets (TOTP keys) for the state store with AES-256-GCM (node:crypto). The
 * account name is bound in as additional data, so a sealed secret copied to another account's
 * key does not open. Format: `v1.` + base64url(iv ‖ tag ‖ ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const IV = 12
const TAG = 16

/** Seals and opens small secrets bound to an account. */
export interface SecretBox {
  seal(plain: string, account: string): string
  /** The plaintext, or undefined when the value was not sealed by this key for this account. */
  open(sealed: string, account: string): string | undefined
}

/**
 * @example
 * const box = secretBox(randomBytes(32))
 * box.open(box.seal('JBSWY3DP', 'alice'), 'alice') // 'JBSWY3DP'
 */
export function secretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new TypeError('secretBox: key must be 32 bytes')
  return {
    seal(plain, account) {
      const iv = randomBytes(IV)
      const c = createCipheriv('aes-256-gcm', key, iv)
      c.setAAD(Buffer.from(account, 'utf8'))
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return 'v1.' + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')
    },
    open(sealed, account) {
      if (!sealed.startsWith('v1.')) return undefined
      const raw = Buffer.from(sealed.slice(3), 'base64url')
      if (raw.length <= IV + TAG) return undefined
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV), { authTagLength: TAG })
        d.setAAD(Buffer.from(account, 'utf8'))
        d.setAuthTag(raw.subarray(IV, IV + TAG))
        return Buffer.concat([d.update(raw.subarray(IV + TAG)), d.final()]).toString('utf8')
      } catch {
        return undefined
      }
    },
  }
}
