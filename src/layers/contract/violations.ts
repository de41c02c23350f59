/**
 * Reads ajv's errors as violations a client may be told: where (`in`), which field, which rule —
 * never the schema's limits, patterns or enum values, which would teach a bot the contract.
 * @see ../../../docs/contract.md#the-problem-answer
 */
import type { ErrorObject } from 'ajv'
import { READ_ONLY_KEYWORD } from './to-json-schema.js'

export type Section = 'path' | 'query' | 'header' | 'cookie'

/** One broken rule: where (`in`), which field, which rule. No schema internals. */
export interface Violation {
  readonly in: Section | 'body'
  /** A parameter name (`limit`, `ids/1`) or a JSON Pointer into the body (`/items/0/quantity`). */
  readonly field: string
  readonly rule: string
}

/** A value that cannot be read without ambiguity; `rule` names why. */
export class Unreadable {
  readonly rule: string
  readonly field: string | undefined
  constructor(rule: string, field?: string) {
    this.rule = rule
    this.field = field
  }
}

const SECTIONS = new Set(['path', 'query', 'header', 'cookie', 'body'])

/**
 * The violations in ajv's errors for an envelope `{ path, query, header, cookie, body }`.
 * @example
 * toViolations([{ instancePath: '/body/items/0', keyword: 'required', params: { missingProperty: 'quantity' } }])
 * // [{ in: 'body', field: '/items/0/quantity', rule: 'required' }]
 */
export function toViolations(errors: readonly ErrorObject[] | null | undefined): Violation[] {
  if (!errors) return []
  return errors.map(toViolation)
}

function toViolation(e: ErrorObject): Violation {
  const p = e.params as Record<string, unknown>
  // The property a keyword is about, when the error sits on its parent object.
  const child = p.missingProperty ?? p.additionalProperty ?? p.unevaluatedProperty ?? p.propertyName
  const pointer = typeof child === 'string' ? `${e.instancePath}/${escape(child)}` : e.instancePath
  const rule =
    e.keyword === READ_ONLY_KEYWORD
      ? 'readOnly'
      : e.keyword === 'unevaluatedProperties'
        ? 'additionalProperties'
        : e.keyword
  const segs = pointer.split('/')
  // segs[0] is '' (pointers start with '/'); segs[1] is the section.
  const section = segs[1] ?? 'body'
  if (!SECTIONS.has(section)) return { in: 'body', field: pointer, rule }
  if (section === 'body') return { in: 'body', field: pointer.slice('/body'.length), rule }
  return { in: section as Section, field: segs.slice(2).map(unescape).join('/'), rule }
}

function escape(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1')
}

function unescape(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~')
}
