/**
 * What a `deceive` verdict of the limits and behaviour layers answers with: where the contract
 * layer found the request's operation in the API's own description, a fake shaped like its
 * documented success (status, fields, formats; path parameters echoed); elsewhere the generic
 * `ok` fake. Never the gateway's error body with a 200, which tells a bot it was caught.
 * @see ../../../docs/deception.md#fakes-shaped-like-your-api
 */
import type { HeaderMap, RequestContext } from '../../engine/types.js'
import { bodyState } from '../../engine/context.js'
import { BODY } from '../contract/fake-answer.js'
import { compileTemplate } from './answer.js'
import { FAKES } from './fakes.js'
import { cryptoRandom } from './random.js'

export interface FakeSuccess {
  readonly status: number
  readonly headers: HeaderMap
  readonly body: string
}

const renderOk = compileTemplate(FAKES.ok.body)
const OK_HEADERS: HeaderMap = Object.freeze({ 'content-type': FAKES.ok.contentType })
const random = cryptoRandom()
/** Frozen header maps by content type (a handful per API). */
const headersByType = new Map<string, HeaderMap>()

/** A fake success for `ctx`, drawn afresh. */
export function fakeSuccess(ctx: RequestContext, now: number): FakeSuccess {
  const doc = ctx.documented
  const shaped = doc?.fake
  if (shaped === undefined)
    return { status: FAKES.ok.status, headers: OK_HEADERS, body: renderOk(random, now) }
  let headers = headersByType.get(shaped.contentType)
  if (headers === undefined) {
    headers = Object.freeze({ 'content-type': shaped.contentType })
    if (headersByType.size < 64) headersByType.set(shaped.contentType, headers)
  }
  const params = shaped.echoesBody ? withBody(ctx, doc!.params) : doc!.params
  return { status: shaped.status, headers, body: shaped.body(random, now, params) }
}

/**
 * The path parameters plus the request's top-level JSON body values (`body:<field>`), for a
 * fake that says back what was sent. Only a body already read (the gateway never reads one
 * just for a fake) and only its strings, numbers and booleans.
 */
function withBody(
  ctx: RequestContext,
  params: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const bytes = bodyState(ctx)?.value?.bytes
  if (bytes === undefined || bytes.length === 0 || bytes.length > 65_536) return params
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    return params
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return params
  const out: Record<string, string> = { ...params }
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      out[`${BODY}${k}`] = String(v)
  return out
}
