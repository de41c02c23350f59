/**
 * Layer rules match paths under the same case policy as the gateway's routes. Under
 * `server.pathCase: sensitive` a request's match key keeps its case; rules compiled case-folded
 * would never match a path with a capital letter (`/api/getUser`, `/api/Admin/…`) and the rule
 * would be silently skipped — a bypass for any API with mixed-case paths.
 * @see ../../src/engine/engine.ts
 */
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import type { Decision } from '../../src/engine/types.js'
import { MemoryStore } from '../../src/store/memory.js'
import { config, raw } from '../helpers/engine.js'

function engineFor(pathCase: 'sensitive' | 'insensitive' | 'lower') {
  return createEngine(
    config({
      server: { pathCase },
      upstreams: { app: { url: 'http://127.0.0.1:1' } },
      routes: [{ path: '/*', upstream: 'app' }],
      access: { rules: [{ id: 'no-admin', paths: ['/api/Admin/*'], action: 'block' }] },
      limits: {
        rules: [{ id: 'lookups', paths: ['/api/getUser'], key: ['ip'], limit: 1, window: '60s' }],
      },
      behavior: {
        flows: [
          {
            id: 'pay-after-cart',
            paths: ['/api/Pay'],
            methods: ['POST'],
            after: { paths: ['/api/Cart'], methods: ['POST'] },
            within: '30m',
            by: ['ip'],
            action: 'block',
          },
        ],
      },
    }),
    { store: new MemoryStore() },
  )
}

async function decide(
  engine: ReturnType<typeof engineFor>,
  line: string,
  ip = '198.51.100.7',
): Promise<Decision> {
  const { ctx, refusal } = engine.prepare(raw(line, { ip }))
  expect(refusal).toBeUndefined()
  return engine.inspect(ctx)
}

describe('rule paths and server.pathCase', () => {
  it('sensitive: rules on mixed-case paths apply to exactly those paths', async () => {
    const engine = engineFor('sensitive')
    expect((await decide(engine, 'GET /api/Admin/users')).action).toBe('block')
    expect((await decide(engine, 'GET /api/getUser?id=1')).action).toBe('allow')
    expect((await decide(engine, 'GET /api/getUser?id=2')).action).toBe('throttle')
    expect((await decide(engine, 'POST /api/Pay')).action).toBe('block')
    // Another case is another path under this policy (as it is for the gateway's routes).
    expect((await decide(engine, 'GET /api/admin/users')).action).toBe('allow')
    expect((await decide(engine, 'GET /api/getuser', '198.51.100.8')).action).toBe('allow')
    expect((await decide(engine, 'GET /api/getuser', '198.51.100.8')).action).toBe('allow')
    await engine.close()
  })

  it('insensitive (the default): any case of a rule path is the rule path', async () => {
    const engine = engineFor('insensitive')
    expect((await decide(engine, 'GET /API/ADMIN/users')).action).toBe('block')
    expect((await decide(engine, 'GET /api/admin/users')).action).toBe('block')
    expect((await decide(engine, 'GET /api/GETUSER')).action).toBe('allow')
    expect((await decide(engine, 'GET /api/getuser')).action).toBe('throttle')
    expect((await decide(engine, 'POST /api/pay')).action).toBe('block')
    await engine.close()
  })

  it('lower: paths are folded to lower case, and so are the rules', async () => {
    const engine = engineFor('lower')
    expect((await decide(engine, 'GET /api/Admin/users')).action).toBe('block')
    expect((await decide(engine, 'GET /api/getUser')).action).toBe('allow')
    expect((await decide(engine, 'GET /api/GetUser')).action).toBe('throttle')
    await engine.close()
  })
})
