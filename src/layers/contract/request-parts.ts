/**
 * The parts of a request parameters come from, each parsed once per request and only for an
 * operation that declares parameters there: the query (form-decoded, repeats kept, so a value
 * given twice can be refused) and the cookies.
 * @see ../../../docs/contract.md#parameters
 */
import type { IncomingHttpHeaders } from 'node:http'
import { Unreadable } from './violations.js'

/** What readers read from: each part of the request parsed once. */
export interface RequestParts {
  readonly query: ReadonlyMap<string, readonly string[]>
  /** Path parameter values by OpenAPI name, still percent-encoded. */
  readonly path: Readonly<Record<string, string>>
  readonly headers: IncomingHttpHeaders
  readonly cookies: ReadonlyMap<string, readonly string[]>
}

/** Decodes a form-encoded query component (`+` is a space); undefined when malformed. */
export function decodeForm(s: string): string | undefined {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/** Decodes a path segment; undefined when malformed. */
export function decodePath(s: string): string | undefined {
  if (s.indexOf('%') < 0) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** The raw query as name → values, in order; a malformed escape is an Unreadable. */
export function parseQuery(raw: string): Map<string, string[]> | Unreadable {
  const out = new Map<string, string[]>()
  if (raw === '') return out
  for (const pair of raw.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decodeForm(eq < 0 ? pair : pair.slice(0, eq))
    const value = decodeForm(eq < 0 ? '' : pair.slice(eq + 1))
    if (name === undefined || value === undefined) return new Unreadable('encoding', name)
    const list = out.get(name)
    if (list) list.push(value)
    else out.set(name, [value])
  }
  return out
}

/** The Cookie header as name → values (a cookie sent twice keeps both). */
export function parseCookies(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (!header) return out
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const list = out.get(name)
    if (list) list.push(value)
    else out.set(name, [value])
  }
  return out
}
