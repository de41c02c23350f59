/**
 * The headline cards: request rate now, share allowed, and counts of each kind of refusal,
 * honeypot hits and flagged identities over the chart's window, each with a sparkline.
 */
import { sparkline, type Series } from './charts.js'
import { h } from './dom.js'
import { COLOURS, num, pct } from './format.js'
import { ACTIONS, type Action, type Summary } from './types.js'

export interface CardData {
  readonly summary: Summary | undefined
  /** Counts by action for each of the last seconds (live ticks), oldest first: the rate now. */
  readonly ticks: readonly (readonly number[])[]
  readonly flagged: number
}

function sum(counts: readonly number[], actions: readonly Action[]): number {
  return actions.reduce((n, a) => n + (counts[ACTIONS.indexOf(a)] ?? 0), 0)
}

function seriesOf(series: Series, actions: readonly Action[]): number[] {
  return series.map(([, c]) => sum(c, actions))
}

function card(
  id: string,
  label: string,
  value: string,
  sub: string,
  spark?: SVGSVGElement,
  tone?: string,
) {
  return h(
    'section',
    { class: `card ${tone ?? ''}`, 'data-testid': `card-${id}` },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value),
    h('div', { class: 'card-sub' }, sub),
    spark ?? null,
  )
}

export function renderCards(host: HTMLElement, d: CardData): void {
  const s = d.summary
  const totals = s?.totals
  const all = totals ? ACTIONS.reduce((n, a) => n + totals[a], 0) : 0
  const series = s?.series ?? []
  // The rate now: the last few live ticks, or the latest bucket until ticks arrive.
  const recent = d.ticks.slice(-5)
  const last = series[series.length - 1]
  const rate = recent.length
    ? recent.reduce((n, c) => n + sum(c, ACTIONS), 0) / recent.length
    : last && s
      ? (sum(last[1], ACTIONS) * 1000) / s.bucketMs
      : 0
  const window = s ? `last ${Math.round((series.length * s.bucketMs) / 60_000)} min` : ''
  const t = (a: Action) => totals?.[a] ?? 0
  host.replaceChildren(
    card(
      'rate',
      'Requests',
      `${rate < 10 ? rate.toFixed(1) : num(Math.round(rate))}/s`,
      `${num(all)} in the ${window}`,
      sparkline(seriesOf(series, ACTIONS), '#818cf8'),
      'accent',
    ),
    card(
      'allowed',
      'Allowed',
      pct(t('allow') + t('log'), all),
      `${num(t('allow') + t('log'))} requests`,
      sparkline(seriesOf(series, ['allow', 'log']), COLOURS.allow),
    ),
    card(
      'blocked',
      'Blocked',
      num(t('block')),
      pct(t('block'), all) + ' of traffic',
      sparkline(seriesOf(series, ['block']), COLOURS.block),
      t('block') ? 'tone-block' : '',
    ),
    card(
      'throttled',
      'Throttled',
      num(t('throttle') + t('delay')),
      `${num(t('delay'))} delayed`,
      sparkline(seriesOf(series, ['throttle', 'delay']), COLOURS.throttle),
      t('throttle') ? 'tone-throttle' : '',
    ),
    card(
      'deceived',
      'Deceived · challenged',
      num(t('deceive') + t('challenge')),
      `${num(t('challenge'))} challenged`,
      sparkline(seriesOf(series, ['deceive', 'challenge']), COLOURS.deceive),
    ),
    card(
      'honeypot',
      'Honeypot hits',
      num(s?.honeypotHits ?? 0),
      'traps no person follows',
      undefined,
      s?.honeypotHits ? 'tone-deceive' : '',
    ),
    card(
      'flagged',
      'Flagged clients',
      num(d.flagged),
      'IP, device or account',
      undefined,
      d.flagged ? 'tone-challenge' : '',
    ),
  )
}
