/**
 * A trap's answer compiled once: status, headers and a body whose deployment placeholders are
 * already filled, so a hit costs at most one string join (`{{rid}}`, `{{ts}}`) and one draw of
 * its delay.
 * @see ../../../docs/deception.md#answers
 */
import type { HeaderMap } from '../../engine/types.js'
import { FAKES, type FakeName } from './fakes.js'
import { between, randomHex, type Random } from './random.js'
import type { AnswerSpec } from './spec.js'

/** `{{rid}}`: a fresh random id; `{{ts}}`: the time of the answer (ISO 8601). */
const PER_ANSWER = /\{\{(rid|ts)\}\}/

export interface Range {
  readonly min: number
  readonly max: number
}

export interface CompiledAnswer {
  /**
   * The trap names no `fake` nor `body` and defaults to `ok`: the engine answers with a fake
   * success shaped like the route's documented one where the contract describes it (a hidden
   * field on a sign-up answers like a sign-up), else the `ok` fake.
   */
  readonly shaped: boolean
  readonly status: number
  readonly headers: HeaderMap
  /** The trap's own `status` and `headers` (for a shaped answer, which brings its own type). */
  readonly explicitStatus: number | undefined
  readonly extraHeaders: HeaderMap
  /** The body for one answer. */
  body(random: Random, now: number): string
  /** The delay for one answer, in milliseconds. */
  delay(random: Random): number
}

/**
 * Compiles a body template: constant text is returned as the one shared string; text with
 * per-answer placeholders is split once and joined per answer.
 * @example
 * compileTemplate('{"id":"{{rid}}"}')(seededRandom(1), 0) // '{"id":"3f9c…"}'
 */
export function compileTemplate(text: string): (random: Random, now: number) => string {
  if (!PER_ANSWER.test(text)) return () => text
  const parts = text.split(new RegExp(PER_ANSWER.source, 'g'))
  // split with a capture group: even indexes are text, odd ones placeholder names
  return function render(random, now) {
    let out = parts[0]!
    for (let i = 1; i < parts.length; i += 2) {
      out += parts[i] === 'rid' ? randomHex(random, 24) : new Date(now).toISOString()
      out += parts[i + 1]!
    }
    return out
  }
}

/**
 * @example
 * const a = compileAnswer({ fake: 'env', headers: {} }, { fake: 'ok', delay: { min: 0, max: 0 } }, fill)
 * a.status // 200
 */
export function compileAnswer(
  spec: AnswerSpec,
  defaults: { readonly fake: FakeName; readonly delay: Range },
  fill: (text: string) => string,
): CompiledAnswer {
  const fake = FAKES[spec.fake ?? defaults.fake]
  const own = spec.body !== undefined
  const contentType = spec.contentType ?? (own ? 'application/json' : fake.contentType)
  const headers: HeaderMap = Object.freeze({ 'content-type': contentType, ...spec.headers })
  const body = compileTemplate(fill(own ? spec.body! : fake.body))
  const { min, max } = spec.delay ?? defaults.delay
  return {
    shaped: !own && spec.fake === undefined && defaults.fake === 'ok',
    status: spec.status ?? (own ? 200 : fake.status),
    headers,
    explicitStatus: spec.status,
    extraHeaders: spec.headers,
    body,
    delay: (random) => between(random, min, max),
  }
}
