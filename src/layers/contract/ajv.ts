/**
 * The one ajv instance a contract compiles into: JSON Schema 2020-12 with formats, tuned for
 * compiling many schemas quickly and for never touching the data it checks (no coercion, no
 * defaults, no removal: the body it validates is the one other layers read and the upstream
 * receives).
 * @see ../../../docs/contract.md#performance
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { READ_ONLY_KEYWORD } from './to-json-schema.js'

export type { ValidateFunction }

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020

/** Formats OpenAPI names that ajv-formats does not know: accepted as any string. */
const OPENAPI_FORMATS = ['int8', 'int16', 'uint8', 'uint16', 'uint32', 'uint64', 'decimal']

/**
 * A fresh ajv for one contract. `warnings` collects what ajv would log (an unknown format,
 * a keyword it ignores), for one notice at load time.
 * @example
 * const { ajv } = createAjv()
 * ajv.addSchema(doc, 'file:///openapi.yaml')
 */
export function createAjv(): { ajv: Ajv2020; warnings: string[] } {
  const warnings: string[] = []
  const ajv = new Ajv2020({
    // OpenAPI documents carry keywords JSON Schema does not know (`example`, `xml`,
    // `discriminator`, `x-*`): ignore them rather than refuse the document.
    strict: false,
    // Checking every schema against the 2020-12 meta-schema doubles the time to load a large
    // contract; to-json-schema.ts checks the keywords that matter instead.
    validateSchema: false,
    // Only the keyword, the place and the params are reported: no message strings to build.
    messages: false,
    allErrors: false,
    // A small $ref'd component is inlined into each operation that uses it (ajv's default):
    // one compile per operation instead of two, which loads large contracts faster.
    inlineRefs: true,
    code: { optimize: false },
    logger: {
      log: () => {},
      warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
      error: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
    },
  })
  addFormats(ajv)
  for (const f of OPENAPI_FORMATS) ajv.addFormat(f, true)
  ajv.addKeyword({
    keyword: READ_ONLY_KEYWORD,
    schemaType: 'boolean',
    errors: false,
    validate: (on: boolean) => !on,
  })
  return { ajv, warnings }
}
