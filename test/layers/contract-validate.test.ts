/**
 * Contract checks on the bank document (test/fixtures/openapi/bank.yaml: OAuth everywhere unless
 * said otherwise; a partners' report that takes a key or a token; sign-in, sign-up and resets
 * public):
 * - `validate.credentials`: an operation the document secures, asked without any of the
 *   credentials its `security` names, is answered 401 at the edge (src/layers/contract/credentials.ts);
 * - `validate.unknownFields: refuse`: a top-level request body field the schema does not
 *   declare is refused (mass assignment: `"role": "admin"` on a sign-up); declared through
 *   `allOf` counts as declared.
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw, type RawInit } from '../helpers/engine.js'

/** An engine with the bank document as its contract and these `validate` options. */
function setup(validate?: Record<string, unknown>) {
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      contract: {
        openapi: 'test/fixtures/openapi/bank.yaml',
        ...(validate === undefined ? {} : { validate }),
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
    const send = setup({ credentials: true })
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
    const send = setup({ credentials: true })
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
    expect(await setup({ credentials: false })('GET /v1/accounts/7')).toBeUndefined()
  })
})

const SIGN_UP = { email: 'new@x.example', password: 'p', name: 'New' }

describe('contract: unknown body fields', () => {
  it('refuses a field the schema does not declare, at the top level, allOf parts included', async () => {
    const send = setup({ unknownFields: 'refuse' })
    // `email` and `password` come from one allOf part, `name` from the other: all declared.
    expect(await send('POST /v1/register', { json: SIGN_UP })).toBeUndefined()
    const d = await send('POST /v1/register', { json: { ...SIGN_UP, role: 'admin' } })
    expect(d).toMatchObject({ rule: 'contract.invalid', status: 400 })
    expect(JSON.parse(d!.body!).errors).toEqual([
      { in: 'body', field: '/role', rule: 'additionalProperties' },
    ])
  })

  it('allows them by default, as JSON Schema does', async () => {
    expect(
      await setup()('POST /v1/register', { json: { ...SIGN_UP, role: 'admin' } }),
    ).toBeUndefined()
    expect(
      await setup({ unknownFields: 'allow' })('POST /v1/register', {
        json: { ...SIGN_UP, role: 'admin' },
      }),
    ).toBeUndefined()
  })
})
