/**
 * The config's JSON Schema, generated from the zod schema. Committed as
 * schema/bulwark.schema.json; a test fails when the two drift (`npm run schema` regenerates).
 */
import { z } from 'zod'
import { ConfigSpec } from './schema.js'

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSpec, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >
  return {
    ...schema,
    $id: 'https://bulwark.dev/schema/bulwark.schema.json',
    title: 'Bulwark config',
  }
}
