/** SHA-256 as base64url, one-shot (`crypto.hash`, Node ≥ 20.12: about half the cost of createHash). */
import * as crypto from 'node:crypto'

const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64url') => string }).hash

export function sha256(text: string): string {
  return oneShot
    ? oneShot('sha256', text, 'base64url')
    : crypto.createHash('sha256').update(text).digest('base64url')
}
