/** The side panels: top routes (bars by action), flagged clients and the rules that fire most. */
import { stackedBar } from './charts.js'
import { fill, h } from './dom.js'
import { num, short, span } from './format.js'
import type { Facet, Flag, Summary } from './types.js'

export function renderRoutes(host: HTMLElement, s: Summary | undefined): void {
  const routes = s?.routes ?? []
  if (routes.length === 0) return fill(host, empty('No traffic in this window yet.'))
  const max = Math.max(...routes.map((r) => r.total))
  fill(
    host,
    routes.slice(0, 8).map((r) => {
      const refused = r.total - r.byAction.allow - r.byAction.log
      return h(
        'div',
        { class: 'route' },
        h(
          'div',
          { class: 'route-head' },
          h('span', { class: 'mono route-name', title: r.route }, r.route),
          h(
            'span',
            { class: 'mono muted small' },
            refused ? h('span', { class: 'refused' }, `${num(refused)} refused · `) : '',
            num(r.total),
          ),
        ),
        stackedBar(r.byAction, max),
      )
    }),
  )
}

/**
 * Flags set together (one trap hit flags every facet of a client: same rule, same moment) are
 * one client: shown once, by its IP when it has one, with its other facets as chips.
 */
export function groupFlags(flags: readonly Flag[]): Flag[][] {
  const groups = new Map<string, Flag[]>()
  for (const f of flags) {
    const k = f.at !== undefined ? `${f.rule ?? ''}|${f.at}` : f.key
    const g = groups.get(k)
    if (g) g.push(f)
    else groups.set(k, [f])
  }
  const order: readonly Facet[] = ['ip', 'account', 'fingerprint', 'session', 'apiKey', 'ipPrefix']
  return [...groups.values()].map((g) =>
    [...g].sort((a, b) => order.indexOf(a.facet) - order.indexOf(b.facet)),
  )
}

export function renderFlags(
  host: HTMLElement,
  flags: readonly Flag[],
  open: (f: Facet, v: string) => void,
): void {
  if (flags.length === 0)
    return fill(
      host,
      empty(
        'Nobody is flagged. Clients that spring a trap or call what the API does not document show up here.',
      ),
    )
  fill(
    host,
    groupFlags(flags)
      .slice(0, 8)
      .map((g) => {
        const f = g[0]!
        const events = Math.max(...g.map((x) => x.events))
        const b = h(
          'button',
          { class: 'flag-item', type: 'button', 'data-testid': 'flag-item' },
          h('span', { class: 'tag' }, f.facet),
          h(
            'div',
            { class: 'grow' },
            h('div', { class: 'mono' }, short(f.value, 28)),
            h(
              'div',
              { class: 'muted small' },
              f.reason || 'flagged',
              f.rule && f.rule !== f.reason ? ` · ${f.rule}` : '',
            ),
            g.length > 1
              ? h(
                  'div',
                  { class: 'also' },
                  g
                    .slice(1)
                    .map((x) =>
                      h(
                        'span',
                        { class: 'tag', title: `${x.facet} ${x.value}` },
                        x.facet,
                        ' ',
                        short(x.value, 12),
                      ),
                    ),
                )
              : null,
          ),
          h(
            'div',
            { class: 'right small' },
            h('div', { class: 'mono' }, events ? `${num(events)} req` : ''),
            h(
              'div',
              { class: 'muted' },
              f.expiresAt ? `${span(f.expiresAt - Date.now())} left` : '',
            ),
          ),
        )
        b.addEventListener('click', () => open(f.facet, f.value))
        return b
      }),
  )
}

export function renderRules(host: HTMLElement, s: Summary | undefined): void {
  const rules = s?.rules ?? []
  if (rules.length === 0) return fill(host, empty('No rule has fired in this window.'))
  const max = Math.max(...rules.map((r) => r.count))
  fill(
    host,
    rules.slice(0, 6).map((r) => {
      const bar = h('span', {
        class: `mini-fill ${r.rule.startsWith('deception.') ? 'a-deceive' : ''}`,
      })
      bar.style.width = `${(100 * r.count) / max}%`
      return h(
        'div',
        { class: 'mini' },
        h('span', { class: 'mono', title: r.rule }, r.rule),
        h('span', { class: 'mini-bar' }, bar),
        h('b', { class: 'mono' }, num(r.count)),
      )
    }),
  )
}

function empty(text: string): HTMLElement {
  return h('div', { class: 'empty-note muted small' }, text)
}
