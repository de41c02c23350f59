/**
 * `contract.validate.credentials`: an operation the document secures is answered 401 at the
 * edge when the request carries none of the credentials its `security` names — no
 * `Authorization: Bearer …` for a bearer or OAuth scheme, no key in the header, query or cookie
 * an `apiKey` scheme names. Whether a credential is *valid* is the backend's business (or the
 * `auth` layer's, for tokens it can verify); that one is *there* is the document's, and a
 * backend that forgot its own check on one route is then not reached by anonymous callers.
 * @see ../../../docs/contract.md#credentials
 */
import type { RequestContext } from '../../engine/types.js'
import { cookieValue } from '../../request/cookie.js'
import { isObj } from './documents.js'

type Obj = Record<string, unknown>

/** What a secured operation needs, compiled once. */
export interface Credentials {
  /** Whether the request carries the credentials of at least one alternative. */
  met(ctx: RequestContext): boolean
  /** `Bearer`, `an X-Api-Key header`…: for the answer's reason. */
  readonly described: string
  /** The `WWW-Authenticate` challenge to answer with (`Bearer`), if a scheme has one. */
  readonly challenge: string | undefined
}

/** One scheme's test: present or not. `undefined` when it cannot be told from a request. */
type Present = ((ctx: RequestContext) => boolean) | undefined

/**
 * The check for `security` (the operation's, else the document's), or undefined when the
 * operation needs nothing, one alternative is empty (`{}`: optional), or an alternative uses a
 * scheme a request cannot show (mutual TLS, an unknown name): then nothing is refused.
 */
export function compileCredentials(security: unknown, schemes: unknown): Credentials | undefined {
  if (!Array.isArray(security) || security.length === 0) return undefined
  const alternatives: ((ctx: RequestContext) => boolean)[][] = []
  const names: string[] = []
  let challenge: string | undefined
  for (const requirement of security) {
    if (!isObj(requirement)) return undefined
    const keys = Object.keys(requirement)
    if (keys.length === 0) return undefined
    const tests: ((ctx: RequestContext) => boolean)[] = []
    for (const k of keys) {
      const scheme = isObj(schemes) ? schemes[k] : undefined
      const t = presence(scheme)
      if (t === undefined) return undefined
      tests.push(t)
      names.push(describe(scheme as Obj))
      challenge ??= challengeOf(scheme as Obj)
    }
    alternatives.push(tests)
  }
  const described = [...new Set(names)].join(' or ')
  return {
    described,
    challenge,
    met: (ctx) => alternatives.some((all) => all.every((t) => t(ctx))),
  }
}

function presence(scheme: unknown): Present {
  if (!isObj(scheme)) return undefined
  switch (scheme.type) {
    case 'http': {
      const name = typeof scheme.scheme === 'string' ? scheme.scheme.toLowerCase() : ''
      return name === '' ? undefined : authorization(name)
    }
    case 'oauth2':
    case 'openIdConnect':
      return authorization('bearer')
    case 'apiKey': {
      const name = typeof scheme.name === 'string' ? scheme.name : ''
      if (name === '') return undefined
      if (scheme.in === 'header') {
        const lower = name.toLowerCase()
        return (ctx) => nonEmpty(ctx.headers[lower])
      }
      if (scheme.in === 'query') return (ctx) => queryHas(ctx.query, name)
      if (scheme.in === 'cookie')
        return (ctx) => {
          const c = ctx.headers.cookie
          return typeof c === 'string' && cookieValue(c, name) !== undefined
        }
      return undefined
    }
    default:
      return undefined
  }
}

/** `Authorization: <scheme> <something>`, the scheme in any case (RFC 9110 §11.1). */
function authorization(scheme: string): (ctx: RequestContext) => boolean {
  return (ctx) => {
    const v = ctx.headers.authorization
    if (typeof v !== 'string') return false
    const space = v.indexOf(' ')
    return (
      space > 0 && v.slice(0, space).toLowerCase() === scheme && v.slice(space + 1).trim() !== ''
    )
  }
}

function queryHas(query: string, name: string): boolean {
  if (query === '') return false
  for (const [k, v] of new URLSearchParams(query)) if (k === name && v !== '') return true
  return false
}

function nonEmpty(v: string | string[] | undefined): boolean {
  return typeof v === 'string' ? v.trim() !== '' : Array.isArray(v) && v.length > 0
}

function describe(scheme: Obj): string {
  if (scheme.type === 'apiKey') return `${String(scheme.name)} in the ${String(scheme.in)}`
  if (scheme.type === 'http') return `Authorization: ${capitalised(String(scheme.scheme))}`
  return 'Authorization: Bearer'
}

function challengeOf(scheme: Obj): string | undefined {
  if (scheme.type === 'http') return capitalised(String(scheme.scheme))
  if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') return 'Bearer'
  return undefined
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()
}
