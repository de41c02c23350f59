/**
 * Turns an audit report into a starting Bulwark config: a route per observed path prefix, and
 * per endpoint a limit of its 99th-percentile per-IP rate × a margin (per account and on failed
 * answers too for login-like routes), plus a global per-IP ceiling — all in `mode: monitor`, so
 * the user watches what it would do before enforcing it. The text is YAML with a comment on
 * each rule giving the numbers it came from, and is checked against the config schema.
 * @see ../../docs/audit-replay.md#the-suggested-config
 */
import { Document, type YAMLMap, type YAMLSeq } from 'yaml'
import { flowLists } from '../config/yaml-lists.js'
import { parseGatewayConfig } from '../config/gateway-config.js'
import { HTTP_METHODS } from '../layers/common.js'
import { patternProblem } from '../request/routes.js'
import type { AuditReport, EndpointReport, RateSummary } from './report.js'

/** How limits are derived from the measured rates. */
export interface SuggestOptions {
  /** Limit = p99 × margin (default 2). */
  readonly margin?: number
  /** No limit below this (default 5): thin data makes small p99s. */
  readonly minLimit?: number
  /** The upstream URL written into the config (default `${UPSTREAM_URL:-http://127.0.0.1:3000}`). */
  readonly upstream?: string
}

/** The suggested config and what to check in it. */
export interface Suggestion {
  /** The YAML text, with comments. */
  readonly text: string
  /** Number of limit rules in it. */
  readonly rules: number
  /** Things the user must check (guessed identity sources, skipped endpoints). */
  readonly notes: readonly string[]
}

interface Rule {
  readonly comment: string
  readonly value: Record<string, unknown>
}

const THIN = 30
const OTHER = '(other)'

/**
 * @throws {Error} if the generated config does not validate (a bug: a test guards it).
 * @example
 * const { text } = suggestConfig(report, { margin: 2 })
 * await writeFile('suggested.yaml', text)
 */
export function suggestConfig(report: AuditReport, opts: SuggestOptions = {}): Suggestion {
  const margin = opts.margin ?? 2
  const minLimit = opts.minLimit ?? 5
  if (!(margin > 0)) throw new TypeError('suggestConfig: margin must be a positive number')
  const limitOf = (r: RateSummary) => Math.max(minLimit, Math.ceil(r.p99 * margin))
  const describe = (r: RateSummary, who: string) =>
    `per ${who} per minute: p50 ${r.p50}, p90 ${r.p90}, p99 ${r.p99}, max ${r.max} (${r.samples} ${who}-minutes${r.samples < THIN ? ', thin data' : ''})`
  const notes: string[] = []
  const ids = new Set<string>()
  const rules: Rule[] = []
  const accountPaths: string[] = []
  let skipped = 0

  for (const e of report.endpoints) {
    if (!served(e)) continue
    if (!usable(e)) {
      skipped++
      continue
    }
    const base = ruleId(e)
    const where = { paths: [e.template], methods: [e.method] }
    const head = `${e.method} ${e.template}: ${e.requests} requests from ~${e.identities} IPs`
    rules.push({
      comment: `${head}; ${describe(e.rate, 'IP')}`,
      value: {
        id: unique(`${base}-per-ip`, ids),
        ...where,
        key: ['ip'],
        limit: limitOf(e.rate),
        window: '60s',
      },
    })
    if (e.accountRate) {
      accountPaths.push(e.template)
      rules.push({
        comment: `${e.method} ${e.template}: ${describe(e.accountRate, 'account')}`,
        value: {
          id: unique(`${base}-per-account`, ids),
          ...where,
          key: ['account'],
          limit: limitOf(e.accountRate),
          window: '60s',
        },
      })
    }
    if (e.failedRate) {
      rules.push({
        comment: `${e.method} ${e.template}: 401/403 answers ${describe(e.failedRate, 'IP')}`,
        value: {
          id: unique(`${base}-failures-per-ip`, ids),
          ...where,
          key: ['ip'],
          count: 'outcomes',
          outcomes: [401, 403],
          limit: limitOf(e.failedRate),
          window: '60s',
        },
      })
    }
  }
  if (report.overall.samples > 0)
    rules.push({
      comment: `Every route: ~${report.identities} IPs; ${describe(report.overall, 'IP')}`,
      value: {
        id: unique('ip-ceiling', ids),
        key: ['ip'],
        limit: limitOf(report.overall),
        window: '60s',
      },
    })
  if (skipped > 0)
    notes.push(`${skipped} endpoint(s) got no rule: their method or template cannot be a rule's`)
  if (accountPaths.length > 0)
    notes.push(
      'identity.account is a guess (the body field "username"): set it to the field your login uses',
    )

  const config: Record<string, unknown> = {
    version: 1,
    mode: 'monitor',
    upstreams: { api: { url: opts.upstream ?? '${UPSTREAM_URL:-http://127.0.0.1:3000}' } },
    routes: routes(report.endpoints).map((path) => ({ path, upstream: 'api' })),
    ...(accountPaths.length > 0
      ? { identity: { account: [{ body: 'username', paths: accountPaths }] } }
      : {}),
    limits: { rules: rules.map((r) => r.value) },
  }
  const doc = new Document(config, { aliasDuplicateObjects: false })
  doc.commentBefore = [
    ` Suggested by \`bulwark audit\` from ${report.records} requests${report.from ? ` (${report.from} to ${report.to})` : ''}.`,
    ` Each limit is the 99th percentile of requests per identity per minute × ${margin} (at least ${minLimit}).`,
    ' mode: monitor — nothing is enforced: watch the "would have" events (or run `bulwark replay`),',
    ' adjust, then set mode: enforce. Set UPSTREAM_URL, or edit upstreams.api.url.',
  ].join('\n')
  const seq = doc.getIn(['limits', 'rules'], true) as YAMLSeq
  seq.items.forEach((item, i) => {
    ;(item as YAMLMap).commentBefore = ` ${rules[i]!.comment}`
    flowLists(item)
  })
  if (accountPaths.length > 0) {
    const identity = doc.getIn(['identity', 'account'], true) as YAMLSeq
    ;(identity.items[0] as YAMLMap).commentBefore =
      ' A guess: the login body field that names the account. Change it to yours.'
    flowLists(identity.items[0])
  }
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false })
  // The promise made in the docs: what audit writes, `bulwark check` accepts.
  parseGatewayConfig(text, 'suggested.yaml', {})
  return { text, rules: rules.length, notes }
}

/** Endpoints worth protecting: not scanner noise that only ever got 404. */
function served(e: EndpointReport): boolean {
  if (e.template === OTHER) return false
  return Object.keys(e.statuses).some((s) => s !== '404')
}

function usable(e: EndpointReport): boolean {
  return (
    (HTTP_METHODS as readonly string[]).includes(e.method) &&
    patternProblem(e.template) === undefined
  )
}

/**
 * One route per first path segment (`/api/*`), or the exact path for a one-segment endpoint
 * (`/health`); a first segment that is an id gives `/*`.
 */
function routes(endpoints: readonly EndpointReport[]): string[] {
  const out = new Set<string>()
  for (const e of endpoints) {
    if (!served(e) || patternProblem(e.template) !== undefined) continue
    const segs = e.template.split('/').filter((s) => s !== '')
    if (segs.length === 0) out.add('/')
    else if (segs[0]!.startsWith(':')) out.add('/*')
    else out.add(segs.length === 1 ? `/${segs[0]}` : `/${segs[0]}/*`)
  }
  // A prefix route already covers its exact sibling (`/api/*` matches `/api`).
  for (const p of [...out]) if (out.has(`${p}/*`)) out.delete(p)
  if (out.has('/*')) return ['/*']
  return [...out].sort()
}

/** `GET /api/products/:id` → `get-api-products-id`. */
function ruleId(e: EndpointReport): string {
  const slug = e.template
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return `${e.method.toLowerCase()}-${slug || 'root'}`.slice(0, 80)
}

function unique(id: string, taken: Set<string>): string {
  let out = id
  for (let n = 2; taken.has(out); n++) out = `${id}-${n}`
  taken.add(out)
  return out
}
