/**
 * `contract.validate.unknownFields: refuse`: a top-level request body field the schema does not
 * declare is refused (mass assignment: `"role": "admin"` on a sign-up). Declared through
 * `allOf` counts as declared. The document: test/fixtures/openapi/bank.yaml.
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw } from '../helpers/engine.js'

function setup(unknownFields?: 'allow' | 'refuse') {
  const engine = createEngine(
    config({
      upstreams: { app: { url: 'http://127.0.0.1:9' } },
      routes: [{ path: '/*', upstream: 'app' }],
      contract: {
        openapi: 'test/fixtures/openapi/bank.yaml',
        ...(unknownFields ? { validate: { unknownFields } } : {}),
      },
    }),
    { store: new MemoryStore() },
  )
  return async (line: string, json: unknown) =>
    (await engine.inspect(engine.prepare(raw(line, { json })).ctx)).decisive
}

const SIGN_UP = { email: 'new@x.example', password: 'p', name: 'New' }

describe('contract: unknown body fields', () => {
  it('refuses a field the schema does not declare, at the top level, allOf parts included', async () => {
    const send = setup('refuse')
    // `email` and `password` come from one allOf part, `name` from the other: all declared.
    expect(await send('POST /v1/register', SIGN_UP)).toBeUndefined()
    const d = await send('POST /v1/register', { ...SIGN_UP, role: 'admin' })
    expect(d).toMatchObject({ rule: 'contract.invalid', status: 400 })
    expect(JSON.parse(d!.body!).errors).toEqual([
      { in: 'body', field: '/role', rule: 'additionalProperties' },
    ])
  })

  it('allows them by default, as JSON Schema does', async () => {
    expect(await setup()('POST /v1/register', { ...SIGN_UP, role: 'admin' })).toBeUndefined()
    expect(await setup('allow')('POST /v1/register', { ...SIGN_UP, role: 'admin' })).toBeUndefined()
  })
})
