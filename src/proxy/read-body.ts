/**
 * Reads a request body up to a cap, for layers that inspect it. Beyond the cap it stops
 * reading and resolves null; the caller answers 413. Rejects when the body cannot be read (the
 * client went away, or its chunked framing is malformed).
 */
import type { IncomingMessage } from 'node:http'

export function readBody(req: IncomingMessage, cap: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > cap) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (c: Buffer) => {
      size += c.length
      if (size > cap) {
        cleanup()
        req.pause()
        resolve(null)
        return
      }
      chunks.push(c)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    }
    const onError = (err: Error) => {
      cleanup()
      reject(err)
    }
    function cleanup() {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}
