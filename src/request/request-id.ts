/**
 * Request ids: random version-4 UUIDs (crypto random, as `crypto.randomUUID()` makes them),
 * made 256 at a time into one string and handed out as slices of it. `randomUUID()` builds each
 * id from 20 string pieces, and joining and flattening them cost about 3,000 instructions a
 * request on the proxy's path (callgrind) — more than any other single step of an empty policy.
 */
import { randomBytes } from 'node:crypto'

const BATCH = 256
const VARIANT = '89ab'
let ids = ''
let next = BATCH

/** A fresh random UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lower case). */
export function requestId(): string {
  if (next === BATCH) {
    ids = batch()
    next = 0
  }
  const at = next++ * 36
  return ids.slice(at, at + 36)
}

function batch(): string {
  const hex = randomBytes(16 * BATCH).toString('hex')
  const parts: string[] = []
  for (let k = 0; k < BATCH; k++) {
    const h = hex.slice(k * 32, k * 32 + 32)
    const variant = VARIANT[parseInt(h[16]!, 16) & 3]!
    parts.push(
      `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`,
    )
  }
  return parts.join('')
}
