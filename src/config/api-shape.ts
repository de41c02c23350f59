/**
 * What an OpenAPI document says about an API, read for `bulwark init`: each operation's method,
 * path (base path included), path parameters, request body fields and documented statuses —
 * and which operations sign people in, sign them up or reset passwords, by their paths,
 * operation ids and body fields. Loaded with the contract layer's loader (`$ref`s across files
 * resolved, files outside the document's directory refused), so what init reads is what the
 * contract will enforce.
 */
import { basePathOf } from '../layers/contract/compile.js'
import { requestBodyFields } from '../layers/contract/body-fields.js'
import {
  follow,
  isObj,
  loadDocuments,
  type DocumentSet,
  type Where,
} from '../layers/contract/documents.js'
import { under } from '../layers/contract/to-json-schema.js'

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

type Obj = Record<string, unknown>

export interface ApiOperation {
  readonly method: string
  /** As documented, base path included: `/v1/accounts/{accountId}`. */
  readonly template: string
  /** As a Bulwark route pattern: `/v1/accounts/:accountId`. */
  readonly pattern: string
  /** Path parameter names, as they appear in {@link pattern}. */
  readonly params: readonly string[]
  /** Top-level request body fields (JSON, form or multipart), `allOf` members merged. */
  readonly bodyFields: readonly string[]
  /** Documented response statuses (`200`, `401`, `4XX`, `default`). */
  readonly statuses: readonly string[]
  readonly operationId: string | undefined
  /** Query parameters (the path item's and the operation's), with their schema's numeric `default`. */
  readonly query: readonly QueryParam[]
  /**
   * What the document requires of a caller: undefined when nothing (or an alternative that is
   * `{}`); else the scopes of its least demanding alternative (none: any valid token).
   */
  readonly security: { readonly scopes: readonly string[]; readonly optional?: true } | undefined
}

export interface QueryParam {
  readonly name: string
  /** The schema's `default`, when it is a number (a page size's). */
  readonly default?: number
}

export interface ApiShape {
  readonly operations: readonly ApiOperation[]
  /** The literal segments every operation's path starts with (`/api/v2`), else the first one most share (`/v1`), or '' for none. */
  readonly prefix: string
  /** The header of an `apiKey` security scheme (`in: header`), lower case, if there is one. */
  readonly apiKeyHeader: string | undefined
}

/**
 * @example
 * const api = readApiShape('openapi.yaml', process.cwd())
 * api.operations.find((o) => o.method === 'POST')?.bodyFields // ['username', 'password']
 */
export function readApiShape(file: string, baseDir: string): ApiShape {
  const set = loadDocuments([file], baseDir)
  const operations: ApiOperation[] = []
  let apiKeyHeader: string | undefined
  for (const root of set.roots) {
    const doc = root.value as Obj
    const here: Where = { file: root, at: [] }
    const base = basePathOf(doc)
    const components = follow(set, doc.components, under(here, 'components')).value
    const schemes = isObj(components)
      ? follow(set, components.securitySchemes, here).value
      : undefined
    const apiKeySchemes = new Set<string>()
    if (isObj(schemes))
      for (const [name, raw] of Object.entries(schemes)) {
        const scheme = follow(set, raw, under(here, 'components', 'securitySchemes', name)).value
        if (!isObj(scheme)) continue
        if (scheme.type === 'apiKey' && scheme.in === 'header' && typeof scheme.name === 'string') {
          apiKeyHeader ??= scheme.name.toLowerCase()
          apiKeySchemes.add(name)
        }
      }
    const paths = isObj(doc.paths) ? doc.paths : {}
    for (const [path, rawItem] of Object.entries(paths)) {
      const { value: item } = follow(set, rawItem, under(here, 'paths', path))
      if (!isObj(item)) continue
      const template = (base + path).replace(/\/{2,}/g, '/')
      const { pattern, params } = toPattern(template)
      for (const m of METHODS) {
        const op = item[m]
        if (!isObj(op)) continue
        const ow = under(here, 'paths', path, m)
        operations.push({
          method: m.toUpperCase(),
          template,
          pattern,
          params,
          bodyFields: requestBodyFields(set, op, ow, (type) => /json|form/i.test(type)),
          statuses: isObj(op.responses) ? Object.keys(op.responses) : [],
          operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
          query: queryParams(set, [item.parameters, op.parameters], under(here, 'paths', path)),
          security: securityOf(op.security ?? doc.security, apiKeySchemes),
        })
      }
    }
  }
  return { operations, prefix: commonPrefix(operations), apiKeyHeader }
}

/**
 * The `in: query` parameters of a path item's and an operation's `parameters` lists (`$ref`s
 * followed), each name once; a `content` parameter has no schema, so no default.
 */
function queryParams(set: DocumentSet, lists: readonly unknown[], where: Where): QueryParam[] {
  const out = new Map<string, QueryParam>()
  for (const list of lists) {
    if (!Array.isArray(list)) continue
    for (const raw of list) {
      const { value: p, where: w } = follow(set, raw, where)
      if (!isObj(p) || p.in !== 'query' || typeof p.name !== 'string') continue
      const schema = follow(set, p.schema, w).value
      const d = isObj(schema) ? schema.default : undefined
      out.set(p.name, typeof d === 'number' ? { name: p.name, default: d } : { name: p.name })
    }
  }
  return [...out.values()]
}

/**
 * An operation's security requirements (alternatives, any one of which will do): undefined when
 * there are none or one is empty (`{}`: optional); `optional` when one is an API key (the
 * backend checks keys: a token may be left out, but a bad one is still refused); else the
 * scopes of the least demanding alternative.
 */
function securityOf(
  security: unknown,
  apiKeySchemes: ReadonlySet<string>,
): ApiOperation['security'] {
  if (!Array.isArray(security) || security.length === 0) return undefined
  let best: string[] | undefined
  for (const alt of security) {
    if (!isObj(alt) || Object.keys(alt).length === 0) return undefined
    if (Object.keys(alt).some((k) => apiKeySchemes.has(k))) return { scopes: [], optional: true }
    const scopes = [
      ...new Set(Object.values(alt).flatMap((v) => (Array.isArray(v) ? v.map(String) : []))),
    ]
    if (best === undefined || scopes.length < best.length) best = scopes
  }
  return best === undefined ? undefined : { scopes: best.sort() }
}

/** `{account-id}` → `:account_id`: route parameter names are word characters. */
function toPattern(template: string): { pattern: string; params: string[] } {
  const params: string[] = []
  const pattern = template
    .split('/')
    .map((seg) => {
      if (!seg.includes('{')) return seg
      // `{id}` is a parameter; so is `{name}.{ext}` (a route parameter is a whole segment).
      const names = [...seg.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!)
      let name = names.join('_').replace(/\W/g, '_') || 'p'
      if (!/^[A-Za-z_]/.test(name)) name = `p_${name}`
      params.push(name)
      return `:${name}`
    })
    .join('/')
  return { pattern, params }
}

function commonPrefix(ops: readonly ApiOperation[]): string {
  if (ops.length < 2) return ''
  // The literal segments every operation starts with (`/api/v2` of `/api/v2/users/{id}`)…
  const lists = ops.map((o) => o.template.split('/').filter((x) => x !== ''))
  const shared: string[] = []
  for (let i = 0; ; i++) {
    const seg = lists[0]![i]
    if (seg === undefined || seg.includes('{') || lists.some((l) => l[i] !== seg)) break
    shared.push(seg)
  }
  // …short of a whole operation's path (`/v1/users` and `/v1/users/{id}` share `/v1`).
  while (shared.length > 0 && lists.some((l) => l.length <= shared.length)) shared.pop()
  if (shared.length > 0) return `/${shared.join('/')}`
  // Else the first segment most operations have; a flat API (`/login`, `/users`) has none.
  const counts = new Map<string, number>()
  for (const l of lists) {
    const first = l[0]
    if (first && !first.includes('{')) counts.set(first, (counts.get(first) ?? 0) + 1)
  }
  let best = ''
  let n = 0
  for (const [seg, c] of counts) if (c > n) [best, n] = [seg, c]
  return n * 2 > ops.length ? `/${best}` : ''
}

/** Body fields that name the account a sign-in is for, most likely first. */
const ACCOUNT_FIELDS = [
  'username',
  'email',
  'login',
  'user',
  'user_name',
  'userName',
  'account',
  'phone',
  'emailAddress',
  'email_address',
  'identifier',
]

/** The body field naming the account, if the operation has one. */
export function accountField(op: ApiOperation): string | undefined {
  const lower = new Map(op.bodyFields.map((f) => [f.toLowerCase(), f]))
  for (const f of ACCOUNT_FIELDS) {
    const found = lower.get(f.toLowerCase())
    if (found !== undefined) return found
  }
  return undefined
}

/** The path's literal segments, lower case: `/v1/auth/{x}/token` → `['v1', 'auth', 'token']`. */
function words(op: ApiOperation): string[] {
  return op.template
    .toLowerCase()
    .split('/')
    .filter((s) => s !== '' && !s.includes('{'))
}

const SIGN_IN = /^(log-?in|sign-?in|sign_in|log_in|sessions?|token|tokens|authenticate|auth)$/
const SIGN_IN_ID =
  /(login|log_in|logIn|signin|sign_in|signIn|authenticate|createsession|createtoken|issuetoken)/i
const SIGN_UP = /^(sign-?up|sign_up|register|registration|registrations|signups?)$/
const SIGN_UP_ID = /(signup|sign_up|signUp|register)/i
const RESET = /(password|reset|forgot|recover)/

export type OperationKind = 'sign-in' | 'sign-up' | 'password-reset' | undefined

/** Collections a public POST to makes an account (`POST /users` with a password: a sign-up). */
const ACCOUNTS = /^(users|accounts|members|customers|profiles|signups?)$/
const PASSWORD_FIELD = /^(password|passwd|pass|secret|passphrase|new_?password)$/i
/** Body fields that carry a one-time code or reset token. */
const CODE_FIELD = /^(code|otp|token|pin|reset_?token|reset_?code|verification_?code)$/i

/** Body fields of a code a client redeems or proves: a voucher, a coupon, a one-time code. */
const GUESSABLE_FIELD =
  /^(code|otp|pin|voucher|voucher_?code|coupon|coupon_?code|promo|promo_?code|gift_?card|gift_?code|redeem_?code|redemption_?code|invite_?code|verification_?code)$/i

/**
 * The body field of an operation that checks a code the client sends (redeem a voucher, apply
 * a coupon, verify a one-time code): what a bot guesses, a wrong answer at a time. Sign-in,
 * sign-up and reset steps are not asked about (they have rules of their own).
 */
export function guessableField(op: ApiOperation): string | undefined {
  if (op.method !== 'POST' && op.method !== 'PUT' && op.method !== 'PATCH') return undefined
  if (operationKind(op) !== undefined) return undefined
  return op.bodyFields.find((f) => GUESSABLE_FIELD.test(f))
}

/** A step that takes a code (a reset confirmation, not the request for one). */
export function takesCode(op: ApiOperation): boolean {
  return op.bodyFields.some((f) => CODE_FIELD.test(f))
}

/**
 * What an operation is for, by its last path words, operation id and body: `POST
 * /v1/auth/token` signs in, `POST /register` (or a public `POST /users` with a password) signs
 * up, `POST /password-reset/request` and `PUT /password-resets/{id}` with a code reset. Sign-ins
 * and sign-ups are POSTs with an account field in their body: what stuffing and brute force aim
 * at; a reset step has an account field or takes a code.
 */
export function operationKind(op: ApiOperation): OperationKind {
  if (op.method !== 'POST' && op.method !== 'PUT' && op.method !== 'PATCH') return undefined
  const w = words(op)
  const last = w.at(-1) ?? ''
  const id = op.operationId ?? ''
  const account = accountField(op) !== undefined
  if (
    (w.some((x) => RESET.test(x)) || /password|reset|forgot/i.test(id)) &&
    (account || takesCode(op))
  )
    return 'password-reset'
  if (op.method !== 'POST' || !account) return undefined
  if (
    SIGN_UP.test(last) ||
    SIGN_UP_ID.test(id) ||
    (ACCOUNTS.test(last) &&
      op.security === undefined &&
      op.bodyFields.some((f) => PASSWORD_FIELD.test(f)))
  )
    return 'sign-up'
  if (SIGN_IN.test(last) || SIGN_IN_ID.test(id)) return 'sign-in'
  return undefined
}

/** Query parameters that move through a listing: a page number, an offset, a cursor. */
const POSITION = new Set([
  'page',
  'pagenumber',
  'pageno',
  'pageoffset',
  'pagecursor',
  'pageafter',
  'pagebefore',
  'pagetoken',
  'nextpagetoken',
  'nexttoken',
  'offset',
  'start',
  'startindex',
  'skip',
  'cursor',
  'after',
  'before',
  'startingafter',
  'endingbefore',
  'continuation',
  'continuationtoken',
  'marker',
  'sinceid',
  'maxid',
])
/** Query parameters that set how many records a page holds. */
const SIZE = new Set([
  'limit',
  'perpage',
  'pagesize',
  'pagelimit',
  'size',
  'count',
  'maxresults',
  'top',
  'first',
  'take',
  'rows',
])

/** `page[number]`, `page_number`, `Page-Number` → `pagenumber`. */
function squash(name: string): string {
  return name.toLowerCase().replace(/[\s_\-[\].]/g, '')
}

/**
 * How a GET pages through a listing: the query parameters that move (`page`, `offset`,
 * `cursor`…: all of them, since a scraper pages with whichever is not limited) and the one
 * that sizes a page (`per_page`, `limit`…), by their names. Undefined for anything that is
 * not a paginated read.
 */
export function paginationOf(
  op: ApiOperation,
): { readonly positions: readonly string[]; readonly size: QueryParam | undefined } | undefined {
  if (op.method !== 'GET') return undefined
  const positions = op.query.filter((q) => POSITION.has(squash(q.name))).map((q) => q.name)
  if (positions.length === 0) return undefined
  return { positions, size: op.query.find((q) => SIZE.has(squash(q.name))) }
}
