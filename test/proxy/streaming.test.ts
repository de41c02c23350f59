/**
 * 50 MB bodies both ways. Streaming is proven by causality, not by timing: one side holds back
 * everything after the first MiB until the other side has seen bytes, which can only happen if
 * the gateway passes the first MiB on before it has the rest. A buffering gateway deadlocks, and
 * `within` turns that into a named failure.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/proxy/gateway.js'
import { signal, startGw, startUpstream, within, type Upstream } from './helpers.js'

const MiB = 1024 * 1024
const CHUNKS = 50
const TOTAL = CHUNKS * MiB

/** Chunk i of the 50: distinct content, so a dropped or repeated chunk changes the hash. */
const chunk = (i: number) => Buffer.alloc(MiB, i % 251)

const expectedSha = (() => {
  const h = createHash('sha256')
  for (let i = 0; i < CHUNKS; i++) h.update(chunk(i))
  return h.digest('hex')
})()

let upstream: Upstream
let gw: Gateway
/** Resolved by the upstream on the first byte of the next upload. */
let uploadStarted = signal()
/** Resolved by the test once the client has the first bytes of the next download. */
let downloadStarted = signal()
/** Why the upstream gave up on the download, if it did. */
let downloadFailure: Error | undefined

beforeAll(async () => {
  upstream = await startUpstream({
    '/upload': (req, res) => {
      const hash = createHash('sha256')
      let bytes = 0
      req.on('data', (c: Buffer) => {
        if (bytes === 0) uploadStarted.resolve()
        bytes += c.length
        hash.update(c)
      })
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }))
      })
    },
    '/download': (req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL })
      res.write(chunk(0))
      const rest = Readable.from(
        (async function* () {
          await within(
            downloadStarted.promise,
            10_000,
            'the client saw no byte of the download while the upstream held back after 1 MiB: the gateway buffers responses',
          )
          for (let i = 1; i < CHUNKS; i++) yield chunk(i)
        })(),
      )
      rest.on('error', (err) => {
        downloadFailure = err
        res.destroy(err)
      })
      rest.pipe(res)
    },
  })
  gw = await startGw({
    upstreams: { up: { url: upstream.url, timeout: '20s' } },
    routes: [{ path: '/*', upstream: 'up' }],
  })
})

afterAll(async () => {
  await gw.close()
  await upstream.close()
})

describe('proxy: streaming', () => {
  for (const framing of ['content-length', 'chunked'] as const) {
    it(`streams a 50 MB ${framing} request body without buffering it`, async () => {
      uploadStarted = signal()
      let sent = 0
      const body = Readable.from(
        (async function* () {
          yield chunk(0)
          sent += MiB
          await within(
            uploadStarted.promise,
            10_000,
            `the upstream saw no byte while the client held back after ${sent} of ${TOTAL} bytes: the gateway buffers request bodies`,
          )
          for (let i = 1; i < CHUNKS; i++) {
            yield chunk(i)
            sent += MiB
          }
        })(),
      )
      const headers = framing === 'content-length' ? { 'content-length': String(TOTAL) } : {}
      const res = await request(`${gw.url}/upload`, { method: 'POST', body, headers })
      expect(res.statusCode).toBe(200)
      expect(await res.body.json()).toEqual({ bytes: TOTAL, sha256: expectedSha })
      expect(sent).toBe(TOTAL)
      // The upstream got the client's framing or its own, never both.
      const seen = upstream.received.at(-1)!.headers
      expect(seen['content-length'] !== undefined && seen['transfer-encoding'] !== undefined).toBe(
        false,
      )
    })
  }

  it('streams a 50 MB response back without buffering it', async () => {
    downloadStarted = signal()
    downloadFailure = undefined
    const hash = createHash('sha256')
    let bytes = 0
    try {
      const res = await request(`${gw.url}/download`)
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-length']).toBe(String(TOTAL))
      for await (const c of res.body as AsyncIterable<Buffer>) {
        // The upstream sends the other 49 MiB only after this.
        if (bytes === 0) downloadStarted.resolve()
        bytes += c.length
        hash.update(c)
      }
    } catch (err) {
      throw downloadFailure ?? err
    }
    expect(bytes).toBe(TOTAL)
    expect(hash.digest('hex')).toBe(expectedSha)
  })
})
