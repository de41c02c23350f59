/**
 * Chaos answers for flagged clients: a weighted random status (403, 404, 500, a fake 200…), a
 * random delay in a range and one of several realistic bodies for that status (JSON error
 * shapes of common frameworks, nginx's own pages), each with fresh ids — so a bot that learns
 * from answers cannot tell real from fake. Never drawn for a client that is not flagged.
 * @see ../../../docs/deception.md#chaos
 */
import { STATUS_CODES } from 'node:http'
import type { HeaderMap, Verdict } from '../../engine/types.js'
import { compileTemplate } from './answer.js'
import { between, type Random } from './random.js'

export type ChaosDraw =
  | { readonly forward: true }
  | {
      readonly forward: false
      readonly status: number
      readonly headers: HeaderMap
      readonly body: string
      readonly delayMs: number
    }

export interface ChaosOptions {
  /** Relative weights by outcome: a status (`'404'`) or `'forward'`. */
  readonly weights: Readonly<Record<string, number>>
  readonly delay: { readonly min: number; readonly max: number }
}

const JSON_TYPE: HeaderMap = Object.freeze({ 'content-type': 'application/json' })
const HTML_TYPE: HeaderMap = Object.freeze({ 'content-type': 'text/html' })

function nginx(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
}

type Body = readonly [HeaderMap, string]

/** Bodies by status; a status without its own list uses `generic`. */
const BODIES: Readonly<Record<string, readonly Body[]>> = {
  '200': [
    [JSON_TYPE, '{"data":[],"meta":{"total":0,"page":1}}'],
    [JSON_TYPE, '{"success":true}'],
    [JSON_TYPE, '{"status":"ok","requestId":"{{rid}}"}'],
    [JSON_TYPE, '[]'],
  ],
  '403': [
    [
      JSON_TYPE,
      '{"error":"forbidden","message":"You do not have permission to access this resource.","requestId":"{{rid}}"}',
    ],
    [JSON_TYPE, '{"message":"Forbidden"}'],
    [HTML_TYPE, nginx(403)],
  ],
  '404': [
    [
      JSON_TYPE,
      '{"error":"not_found","message":"The requested resource was not found.","requestId":"{{rid}}"}',
    ],
    [JSON_TYPE, '{"timestamp":"{{ts}}","status":404,"error":"Not Found"}'],
    [HTML_TYPE, nginx(404)],
  ],
  '500': [
    [
      JSON_TYPE,
      '{"error":"internal_error","message":"An unexpected error occurred.","requestId":"{{rid}}"}',
    ],
    [JSON_TYPE, '{"message":"Internal server error","code":"E_INTERNAL","traceId":"{{rid}}"}'],
    [HTML_TYPE, nginx(500)],
  ],
}

function generic(status: number): readonly Body[] {
  const text = JSON.stringify(STATUS_CODES[status] ?? 'Error')
  return [
    [JSON_TYPE, `{"error":${text},"status":${status},"requestId":"{{rid}}"}`],
    [HTML_TYPE, nginx(status)],
  ]
}

/**
 * Compiles the weights once; each call draws one answer.
 * @example
 * const draw = compileChaos({ weights: { '404': 1 }, delay: { min: 0, max: 0 } }, seededRandom(1))
 * draw(Date.now()) // { forward: false, status: 404, body: '…', … }
 */
export function compileChaos(opts: ChaosOptions, random: Random): (now: number) => ChaosDraw {
  const outcomes: { readonly weight: number; readonly draw: (now: number) => ChaosDraw }[] = []
  let total = 0
  for (const [outcome, weight] of Object.entries(opts.weights)) {
    if (weight <= 0) continue
    total += weight
    if (outcome === 'forward') {
      const forward: ChaosDraw = Object.freeze({ forward: true })
      outcomes.push({ weight: total, draw: () => forward })
      continue
    }
    const status = Number(outcome)
    const bodies = (BODIES[outcome] ?? generic(status)).map(
      ([headers, text]) => [headers, compileTemplate(text)] as const,
    )
    outcomes.push({
      weight: total,
      draw(now) {
        const [headers, render] = bodies[Math.floor(random() * bodies.length)]!
        return {
          forward: false,
          status,
          headers,
          body: render(random, now),
          delayMs: between(random, opts.delay.min, opts.delay.max),
        }
      },
    })
  }
  return function drawChaos(now) {
    const r = random() * total
    for (const o of outcomes) if (r < o.weight) return o.draw(now)
    return outcomes[outcomes.length - 1]!.draw(now)
  }
}

/**
 * The verdict for a flagged client: the drawn chaos answer (`deceive`), or a `log` verdict when
 * the draw lets the real answer through. `flaggedBy` is the rule that flagged the client.
 */
export function chaosVerdict(draw: ChaosDraw, flaggedBy: string, monitor: boolean): Verdict {
  const data = { trap: 'chaos', flaggedBy }
  if (draw.forward)
    return {
      action: 'log',
      rule: 'deception.chaos',
      reason: `client flagged by ${flaggedBy}: real answer`,
      monitor,
      data,
    }
  return {
    action: 'deceive',
    rule: 'deception.chaos',
    reason: `client flagged by ${flaggedBy}: chaos answer ${draw.status}`,
    monitor,
    status: draw.status,
    headers: draw.headers,
    body: draw.body,
    delayMs: draw.delayMs,
    // A fake success is reshaped like the route's documented one where the contract has it.
    data: draw.status < 300 ? { ...data, reshape: true } : data,
  }
}
