/**
 * `contract.validate.credentials`: an operation the document secures, asked without any of the
 * credentials its `security` names, is answered 401 at the edge (src/layers/contract/credentials.ts).
 * The document: test/fixtures/openapi/bank.yaml (OAuth everywhere unless said otherwise; a
 * partners' report that takes a key or a token; sign-in, sign-up and resets public).
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

function setup(credentials?: boolean) {
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      contract: {
        openapi: 'test/fixtures/openapi/bank.yaml',
        ...(credentials === undefined ? {} : { validate: { credentials } }),
      },
    }),
    { store: new MemoryStore() },
  )
  return async (line: string, init: RawInit = {}) => {
    const d = await engine.inspect(engine.prepare(raw(line, init)).ctx)
    return d.decisive
  }
}
const auth = (value: string): RawInit => ({ headers: { authorization: value } })

describe('contract: credentials the document asks for', () => {
  it('answers 401 with a Bearer challenge where a token is missing, lets any token on', async () => {
    const send = setup(true)
    const none = await send('GET /v1/accounts/7')
    expect(none).toMatchObject({ rule: 'contract.credentials', status: 401, action: 'block' })
    expect(none!.headers).toMatchObject({ 'www-authenticate': 'Bearer' })
    expect(none!.reason).toBe(
      'GET /v1/accounts/{accountId}: no credentials (the document asks for Authorization: Bearer)',
    )
    // Present is all it checks (whether it is valid is the backend's or the auth layer's).
    expect(await send('GET /v1/accounts/7', auth('Bearer abc'))).toBeUndefined()
    expect(await send('GET /v1/accounts/7', auth('bearer abc'))).toBeUndefined()
    // Not a bearer token, or an empty one: none.
    expect((await send('GET /v1/accounts/7', auth('Basic YTpi')))?.status).toBe(401)
    expect((await send('GET /v1/accounts/7', auth('Bearer ')))?.status).toBe(401)
  })

  it('takes any one alternative (a key or a token), and asks nothing of public operations', async () => {
    const send = setup(true)
    expect((await send('GET /v1/partners/report'))?.status).toBe(401)
    expect(
      await send('GET /v1/partners/report', { headers: { 'x-partner-key': 'k' } }),
    ).toBeUndefined()
    expect(await send('GET /v1/partners/report', auth('Bearer t'))).toBeUndefined()
    const signIn = await send('POST /v1/auth/token', {
      json: { email: 'a@x.example', password: 'p' },
    })
    expect(signIn).toBeUndefined()
  })

  it('is off unless validate.credentials is set', async () => {
    expect(await setup()('GET /v1/accounts/7')).toBeUndefined()
    expect(await setup(false)('GET /v1/accounts/7')).toBeUndefined()
  })
})
