import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { withBulwark } from '../../src/adapters/node-http.js'
import { serialiseParsed } from '../../src/embedded/parsed-body.js'
import { createBulwark, type Bulwark } from '../../src/index.js'
import { parseBody } from '../../src/request/body.js'
import { close, ECHO_POLICY, listen, send } from './helpers.js'

describe('serialiseParsed: a parsed body back to the bytes of its type', () => {
  const fields = async (body: unknown, type: string) => {
    const bytes = serialiseParsed(body, type)
    const f = await parseBody({ bytes, contentType: type.split(';')[0]!, rawContentType: type })
    if (!f.ok) return f.reason
    return (name: string) => f.get(name)
  }

  it('JSON: the same object', async () => {
    expect(serialiseParsed({ a: 1, b: [true] }, 'application/json').toString()).toBe(
      '{"a":1,"b":[true]}',
    )
    const get = (await fields({ username: 'bob' }, 'application/vnd.x+json')) as (
      n: string,
    ) => unknown
    expect(get('username')).toBe('bob')
  })

  it('forms: a list is the field repeated (refused), a nested object is not the field', async () => {
    expect(
      serialiseParsed({ a: 'x y', b: ['1', '2'] }, 'application/x-www-form-urlencoded').toString(),
    ).toBe('a=x+y&b=1&b=2')
    const get = (await fields(
      { u: ['a', 'b'], n: { $ne: '1' } },
      'application/x-www-form-urlencoded',
    )) as (n: string) => unknown
    expect(typeof get('u')).toBe('symbol') // AMBIGUOUS: given more than once
    expect(get('n')).toBeUndefined()
    expect(get('n[$ne]')).toBe('1')
  })

  it('multipart: the text fields, with the request’s boundary', async () => {
    const type = 'multipart/form-data; boundary=XyZ'
    const get = (await fields({ username: 'Carol', n: 2 }, type)) as (n: string) => unknown
    expect(get('username')).toBe('Carol')
    expect(get('n')).toBe('2')
  })

  it('bytes and text as they are', () => {
    expect(serialiseParsed(Buffer.from('raw'), 'application/octet-stream').toString()).toBe('raw')
    expect(serialiseParsed(new Uint8Array([104, 105]), undefined).toString()).toBe('hi')
    expect(serialiseParsed('plain', 'text/plain').toString()).toBe('plain')
    expect(serialiseParsed(undefined, 'application/json').length).toBe(0)
  })
})

describe('node bodies: a stream someone else consumed', () => {
  let server: Server | undefined
  let bulwark: Bulwark | undefined
  afterEach(async () => {
    if (server) await close(server)
    await bulwark?.close()
  })

  it('fails closed (500) with an error naming the fix when nothing of the body is left', async () => {
    const errors: string[] = []
    bulwark = await createBulwark({
      config: ECHO_POLICY,
      onError: (err) => errors.push(String(err)),
    })
    const guarded = withBulwark(bulwark, (_req, res) => res.end('never'))
    server = createServer((req: IncomingMessage, res) => {
      req.resume() // an earlier middleware drained the body and kept nothing
      req.once('end', () => guarded(req, res))
    })
    const url = await listen(server)
    const r = await send(url, '/echo', { json: { username: 'a' } })
    expect(r.status).toBe(500)
    expect(errors[0]).toContain('the request body was consumed before Bulwark')
    expect(errors[0]).toContain('keepRawBody')
  })
})
