/**
 * The `deception:` block: honeypot routes, hidden fields and trap headers, canary credentials,
 * chaos answers for flagged clients, and the tarpit's global caps. Strict, defaulted here.
 * @see ../../../docs/deception.md#configuration
 */
import { z } from 'zod'
import { duration, size } from '../../config/units.js'
import { FLAG_FACETS } from '../../identity/flags.js'
import { method, mode, routePattern, ruleId } from '../common.js'
import { BUILTIN_CANARIES, PLACEHOLDER } from './canary.js'
import { FAKE_NAMES } from './fakes.js'

/** `1s`, or a range `{ min: 200ms, max: 3s }` drawn uniformly per answer. */
const delay = z
  .union([duration, z.strictObject({ min: duration, max: duration })])
  .transform((d) => (typeof d === 'number' ? { min: d, max: d } : d))
  .refine((d) => d.min <= d.max, { message: 'expected min <= max' })

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'expected an HTTP header name' })
  .transform((s) => s.toLowerCase())

/** How a trap answers: a fake from the library (or a body of your own), after a delay. */
const answerShape = {
  /** A template of the fakes library (docs/deception.md#fakes). */
  fake: z.enum(FAKE_NAMES).optional(),
  /** A body of your own instead of a fake; `{{canary:NAME}}` and `{{id:NAME}}` are filled in. */
  body: z.string().optional(),
  /** Content type of `body` (a fake brings its own). */
  contentType: z.string().optional(),
  /** Status of the answer (default: the fake's own, 200 for most). */
  status: z.number().int().min(100).max(599).optional(),
  headers: z.record(headerName, z.string()).default({}),
  delay: delay.optional(),
  /** How long the client stays flagged (default `deception.flagTtl`). */
  flagTtl: duration.optional(),
  mode: mode.optional(),
}

export const Honeypot = z.strictObject({
  id: ruleId,
  /** Exact (`/.env`), prefix (`/wp-admin/*`) or template (`/api/users/:id/secrets`) patterns. */
  paths: z.array(routePattern).min(1),
  methods: z.array(method).default([]),
  ...answerShape,
})

export const HiddenField = z.strictObject({
  /** The field's name, as the real front end renders it (hidden from people). */
  name: z.string().min(1),
  /** Routes whose requests carry the field (bodies are read only there). */
  paths: z.array(routePattern).min(1),
  methods: z.array(method).default([]),
  /** Where the field is looked for. */
  in: z
    .array(z.enum(['body', 'query']))
    .min(1)
    .default(['body', 'query']),
  /** `fake`: answer as if the request succeeded; `forward`: flag silently and let it through. */
  answer: z.enum(['fake', 'forward']).default('fake'),
  ...answerShape,
})

const TrapHeaderObject = z.strictObject({
  name: headerName,
  answer: z.enum(['fake', 'forward']).default('fake'),
  ...answerShape,
})
/** A header no real client sends (`x-debug-mode`): its name alone, or with an answer. */
export const TrapHeader = z.union([
  headerName.transform((name) => ({
    name,
    answer: 'fake' as const,
    headers: {} as Record<string, string>,
  })),
  TrapHeaderObject,
])

export const CanaryCredential = z.strictObject({
  /** The placeholder name: `{{canary:NAME}}`. */
  name: ruleId,
  /** Text before the random part, to look like the real thing: `sk_live_`, `AKIA`. */
  prefix: z.string().default(''),
  /** Length of the random part. */
  length: z.number().int().min(8).max(128).default(32),
  charset: z.enum(['alnum', 'hex', 'upper', 'base32']).default('alnum'),
})

export const CanariesSpec = z.strictObject({
  /**
   * The deployment's secret: every canary is derived from it (HMAC), so all instances and
   * restarts plant and recognise the same values. At least 16 characters. Without one, a random
   * secret is made per process (canaries then differ between instances and restarts).
   */
  secret: z.string().min(16).optional(),
  /** Canaries of your own, on top of (or replacing, by name) the built-in ones. */
  credentials: z.array(CanaryCredential).default([]),
  /** Where requests are searched for canaries. */
  detect: z
    .strictObject({
      /** Headers whose values (Bearer/Basic credentials, cookies, keys) are checked. */
      headers: z
        .array(headerName)
        .default([
          'authorization',
          'proxy-authorization',
          'x-api-key',
          'api-key',
          'x-auth-token',
          'x-access-token',
          'cookie',
        ]),
      /** Query parameter values. */
      query: z.boolean().default(true),
      /** Routes whose bodies are read and their top-level fields checked. */
      bodyPaths: z.array(routePattern).default([]),
    })
    .prefault({}),
  /**
   * `fake`: answer a request that uses a canary with the fake below (default: `unauthorized`,
   * 401); `forward`: flag silently and let the backend refuse the invalid credential its own way
   * (a canary password tried at a login then gets the login's real failure, indistinguishable).
   */
  answer: z.enum(['fake', 'forward']).default('fake'),
  ...answerShape,
})

/** A status code (`404`) or `forward` (let the real answer through, undelayed). */
const chaosOutcome = z.string().regex(/^([1-5][0-9]{2}|forward)$/, {
  error: (i) => `expected a status like "404" or "forward", got ${JSON.stringify(i.input)}`,
})

export const ChaosSpec = z
  .strictObject({
    /** Answer flagged clients with chaos (off: flagged clients are only flagged). */
    enabled: z.boolean().default(true),
    /** Relative weights of each answer: `{ 403: 20, 404: 30, 500: 15, 200: 35 }`. */
    weights: z
      .record(chaosOutcome, z.number().min(0))
      .default({ '403': 20, '404': 30, '500': 15, '200': 35 }),
    /** Delay of each chaos answer, drawn uniformly in this range. */
    delay: delay.default({ min: 200, max: 2_500 }),
    /** Routes flagged clients still reach normally (`/health`). */
    exempt: z.array(routePattern).default([]),
    mode: mode.optional(),
  })
  .refine((c) => Object.values(c.weights).some((w) => w > 0), {
    message: 'expected at least one weight above 0',
    path: ['weights'],
  })

export const TarpitSpec = z.strictObject({
  /**
   * Most delayed answers held at once, across the whole gateway. Keep it well below the
   * process's file-descriptor limit (`ulimit -n`), so held connections never starve real ones.
   */
  maxConcurrent: z.number().int().positive().default(10_000),
  /** Most answer bytes held by delayed answers at once. */
  maxBytes: size.default(64 * 1024 * 1024),
  /** Beyond a cap: `close` the connection at once, or answer a plain `429`. */
  overflow: z
    .union([z.enum(['close', '429']), z.literal(429).transform(() => '429' as const)])
    .default('close'),
})
export type TarpitSpec = z.output<typeof TarpitSpec>

export const DeceptionSpec = z
  .strictObject({
    mode: mode.optional(),
    /** How long a trap hit keeps a client flagged. */
    flagTtl: duration.default(3_600_000),
    /** Facets a trap hit flags (default: every facet the client has). */
    flagFacets: z
      .array(z.enum(FLAG_FACETS))
      .min(1)
      .default([...FLAG_FACETS]),
    /** Seeds the random draws (chaos, delays) for reproducible tests; unset: crypto random. */
    seed: z.number().int().optional(),
    honeypots: z.array(Honeypot).default([]),
    fields: z.array(HiddenField).default([]),
    headers: z.array(TrapHeader).default([]),
    canaries: CanariesSpec.prefault({}),
    chaos: ChaosSpec.prefault({}),
    tarpit: TarpitSpec.prefault({}),
  })
  .check((ctx) => {
    const s = ctx.value
    const names = new Set([
      ...BUILTIN_CANARIES.map((c) => c.name),
      ...s.canaries.credentials.map((c) => c.name),
    ])
    const seen = new Set<string>()
    s.honeypots.forEach((h, i) => {
      if (seen.has(h.id))
        ctx.issues.push({
          code: 'custom',
          input: h.id,
          path: ['honeypots', i, 'id'],
          message: `id ${JSON.stringify(h.id)} is used twice`,
        })
      seen.add(h.id)
    })
    type Path = (string | number)[]
    const answers: [Path, AnswerSpec][] = [
      ...s.honeypots.map((h, i): [Path, typeof h] => [['honeypots', i], h]),
      ...s.fields.map((f, i): [Path, typeof f] => [['fields', i], f]),
      ...s.headers.map((h, i): [Path, typeof h] => [['headers', i], h]),
      [['canaries'], s.canaries],
    ]
    for (const [path, a] of answers) {
      if (a.body === undefined) continue
      if (a.fake !== undefined)
        ctx.issues.push({
          code: 'custom',
          input: a.body,
          path: [...path, 'body'],
          message: 'use either "fake" (a template of the library) or "body" (your own), not both',
        })
      for (const m of a.body.matchAll(PLACEHOLDER))
        if (m[1] === 'canary' && !names.has(m[2]!))
          ctx.issues.push({
            code: 'custom',
            input: a.body,
            path: [...path, 'body'],
            message: `unknown canary ${JSON.stringify(m[2])}: expected one of ${[...names].join(', ')} (or add it to canaries.credentials)`,
          })
    }
  })
export type DeceptionSpec = z.output<typeof DeceptionSpec>
export type AnswerSpec = {
  readonly fake?: (typeof FAKE_NAMES)[number] | undefined
  readonly body?: string | undefined
  readonly contentType?: string | undefined
  readonly status?: number | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly delay?: { readonly min: number; readonly max: number } | undefined
  readonly flagTtl?: number | undefined
  readonly mode?: 'enforce' | 'monitor' | undefined
}
export type CanaryCredentialSpec = z.output<typeof CanaryCredential>
