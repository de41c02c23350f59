/**
 * The answer to a request that breaks the contract: an RFC 9457 problem document naming each
 * field and the rule it broke, and nothing about the schema behind the rule.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 * @see ../../../docs/contract.md#the-problem-answer
 */
import { STATUS_CODES } from 'node:http'
import type { Violation } from './violations.js'

export const PROBLEM_TYPE = 'application/problem+json'

/** At most this many violations are listed (a body with 10 000 bad items gets a short answer). */
const MAX_LISTED = 10

/**
 * The violations a client (and an event) is told about: the first ten, each field at most 100
 * characters (a field can be a property name the client made up).
 * @example
 * listed(violations) // [{ in: 'body', field: '/items/0/quantity', rule: 'minimum' }]
 */
export function listed(violations: readonly Violation[]): Violation[] {
  return violations
    .slice(0, MAX_LISTED)
    .map((v) => ({ in: v.in, field: clip(v.field), rule: v.rule }))
}

/**
 * @example
 * problemBody(400, [{ in: 'body', field: '/items/0/quantity', rule: 'minimum' }])
 * // {"type":"about:blank","title":"Bad Request","status":400,"detail":"…","errors":[…]}
 */
export function problemBody(status: number, violations: readonly Violation[]): string {
  const errors = listed(violations)
  return JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Bad Request',
    status,
    detail: `The request does not match the API contract: ${errors.map(describeViolation).join('; ')}.`,
    errors,
  })
}

/** `body field /items/0/quantity breaks "minimum"`, `query parameter "limit" is required`. */
export function describeViolation(v: Violation): string {
  const field = clip(v.field)
  const what =
    v.in === 'body'
      ? field === ''
        ? 'the body'
        : `body field ${field}`
      : `${v.in} parameter ${JSON.stringify(field)}`
  if (v.rule === 'required') return `${what} is required`
  if (v.rule === 'readOnly') return `${what} is read-only`
  return `${what} breaks "${v.rule}"`
}

/** A field named by the client (an added property) is echoed back at most this long. */
function clip(field: string): string {
  return field.length > 100 ? `${field.slice(0, 100)}…` : field
}
