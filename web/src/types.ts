/**
 * The admin API's shapes, as the dashboard reads them (see src/admin/api.ts and
 * src/telemetry/event.ts on the server). Kept here so the page builds without the server's code.
 */
export const ACTIONS = [
  'allow',
  'log',
  'delay',
  'throttle',
  'challenge',
  'deceive',
  'block',
] as const
export type Action = (typeof ACTIONS)[number]

export const FACETS = ['ip', 'ipPrefix', 'fingerprint', 'account', 'session', 'apiKey'] as const
export type Facet = (typeof FACETS)[number]

export interface Reason {
  readonly rule: string
  readonly action: Action
  readonly reason: string
  readonly monitor: boolean
  readonly data?: Readonly<Record<string, unknown>>
}

export interface DecisionEvent {
  readonly seq: number
  readonly requestId: string
  readonly receivedAt: number
  readonly method: string
  readonly path: string
  readonly route: string
  readonly client: Partial<Record<Facet, string>> & { ipSource?: string }
  readonly action: Action
  readonly wouldHave?: Action
  readonly mode: 'enforce' | 'monitor'
  readonly status: number
  readonly ms: number
  readonly reasons: readonly Reason[]
  readonly rules: readonly string[]
}

export interface Summary {
  readonly now: number
  readonly actions: readonly Action[]
  readonly bucketMs: number
  readonly series: readonly (readonly [number, readonly number[]])[]
  readonly totals: Readonly<Record<Action, number>>
  readonly routes: readonly { route: string; total: number; byAction: Record<Action, number> }[]
  readonly rules: readonly { rule: string; count: number }[]
  readonly honeypotHits: number
}

export interface Flag {
  readonly key: string
  readonly facet: Facet
  readonly value: string
  readonly reason: string
  readonly rule?: string
  readonly at?: number
  readonly expiresAt?: number
  readonly events: number
  readonly lastSeen?: number
}

export interface Status {
  readonly version: string
  readonly startedAt: number
  readonly now: number
  readonly gateway: string
  readonly listening: boolean
  readonly mode: 'enforce' | 'monitor'
  readonly store: 'memory' | 'redis'
  readonly configFile: string | null
  readonly canReload: boolean
  readonly lastReload: { ok: boolean; at: number; why: string; error?: string } | null
  readonly layers: readonly string[]
  readonly rules: readonly string[]
}

export interface IdentityView {
  readonly facet: Facet
  readonly value: string
  readonly events: number
  readonly firstSeen?: number
  readonly lastSeen?: number
  readonly related: Readonly<Record<Facet, readonly { value: string; count: number }[]>>
  readonly actions: Readonly<Record<Action, number>>
  readonly signals: readonly {
    rule: string
    action: Action
    monitor: boolean
    count: number
    lastReason: string
  }[]
  readonly routes: readonly { route: string; count: number }[]
  readonly latest: readonly DecisionEvent[]
  readonly flags: readonly Flag[]
}

export interface UnblockResult {
  readonly flagsRemoved: readonly string[]
  readonly keysReset: number
}

/** An allow no rule objected to (as the server decides what the live feed streams). */
export function isPlainAllow(e: DecisionEvent): boolean {
  return e.action === 'allow' && !e.wouldHave && e.reasons.every((r) => r.action === 'allow')
}
