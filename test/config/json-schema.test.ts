import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { configJsonSchema } from '../../src/config/json-schema.js'

describe('JSON Schema', () => {
  it('the committed schema/bulwark.schema.json matches the config schema (run `npm run schema`)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../schema/bulwark.schema.json', import.meta.url), 'utf8'),
    )
    expect(committed).toEqual(configJsonSchema())
  })

  it('describes every top-level key and forbids unknown ones', () => {
    const s = configJsonSchema() as {
      properties: Record<string, unknown>
      additionalProperties: unknown
    }
    expect(Object.keys(s.properties)).toEqual(
      expect.arrayContaining([
        'server',
        'upstreams',
        'routes',
        'store',
        'identity',
        'access',
        'limits',
        'mode',
        'log',
      ]),
    )
    expect(s.additionalProperties).toBe(false)
  })
})
