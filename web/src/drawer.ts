/**
 * The drill-down into one client: what it was told, the facets seen with it (other IPs,
 * devices, accounts), the rules it set off, its routes, flags and latest requests, and the
 * unblock step (flags removed, rate limits reset for the ticked facet values).
 */
import { api } from './api.js'
import { stackedBar } from './charts.js'
import { fill, h } from './dom.js'
import { clock, num, short, span } from './format.js'
import { toast } from './toast.js'
import { ACTIONS, FACETS, type DecisionEvent, type Facet, type IdentityView } from './types.js'

const LABELS: Readonly<Record<Facet, string>> = {
  ip: 'IP address',
  ipPrefix: 'IP prefix',
  fingerprint: 'Device fingerprint',
  account: 'Account',
  session: 'Session',
  apiKey: 'API key',
}

export class Drawer {
  readonly el: HTMLElement
  readonly #body: HTMLElement
  readonly #title: HTMLElement
  readonly #changed: () => void
  #current: { facet: Facet; value: string } | undefined

  /** `changed` runs after an unblock or unflag, so the page can refresh its lists. */
  constructor(changed: () => void) {
    this.#changed = changed
    this.#title = h('div', { class: 'drawer-title' })
    this.#body = h('div', { class: 'drawer-body' })
    const close = h(
      'button',
      { class: 'btn ghost icon', type: 'button', 'aria-label': 'Close' },
      '✕',
    )
    close.addEventListener('click', () => this.close())
    this.el = h(
      'aside',
      { class: 'drawer', 'aria-hidden': 'true', 'data-testid': 'drawer' },
      h('header', { class: 'drawer-head' }, this.#title, close),
      this.#body,
    )
    document.addEventListener('keydown', (e) => e.key === 'Escape' && this.close())
  }

  close(): void {
    this.el.classList.remove('open')
    this.el.setAttribute('aria-hidden', 'true')
    this.#current = undefined
  }

  /** Opens on `facet`=`value`; `preselect` ticks that request's facets for unblocking. */
  async open(facet: Facet, value: string, preselect?: DecisionEvent): Promise<void> {
    this.#current = { facet, value }
    fill(
      this.#title,
      h('span', { class: 'muted small' }, LABELS[facet]),
      h('div', { class: 'mono big' }, value),
    )
    fill(this.#body, h('div', { class: 'muted pad' }, 'Loading…'))
    this.el.classList.add('open')
    this.el.setAttribute('aria-hidden', 'false')
    try {
      const view = await api.identity(facet, value)
      if (this.#current?.facet !== facet || this.#current.value !== value) return
      this.#render(view, preselect)
    } catch (err) {
      fill(this.#body, h('div', { class: 'error pad' }, String((err as Error).message)))
    }
  }

  #render(v: IdentityView, pre?: DecisionEvent) {
    const total = ACTIONS.reduce((n, a) => n + v.actions[a], 0)
    const refused = total - v.actions.allow - v.actions.log
    const facts = h(
      'div',
      { class: 'facts' },
      fact('Requests seen', num(v.events)),
      fact('Refused', num(refused), refused ? 'tone-block' : ''),
      fact('First seen', v.firstSeen ? `${span(Date.now() - v.firstSeen)} ago` : '—'),
      fact('Last seen', v.lastSeen ? `${span(Date.now() - v.lastSeen)} ago` : '—'),
    )
    const sections: HTMLElement[] = [
      facts,
      h('div', { class: 'drawer-bar' }, stackedBar(v.actions, total)),
    ]
    sections.push(this.#unblock(v, pre))
    if (v.flags.length)
      sections.push(
        section(
          'Flags',
          v.flags.map((f) => {
            const remove = h('button', { class: 'btn small ghost', type: 'button' }, 'Remove')
            remove.addEventListener('click', async () => {
              await api.unflag(f.key)
              toast(`Flag removed: ${f.facet} ${short(f.value)}`, 'ok')
              this.#changed()
              void this.open(v.facet, v.value)
            })
            return h(
              'div',
              { class: 'flag-row' },
              h('span', { class: 'tag' }, f.facet),
              h('span', { class: 'mono' }, short(f.value, 26)),
              h(
                'div',
                { class: 'grow muted small' },
                f.reason || 'flagged',
                f.rule ? ` · ${f.rule}` : '',
                f.expiresAt ? ` · expires in ${span(f.expiresAt - Date.now())}` : '',
              ),
              remove,
            )
          }),
        ),
      )
    const related = FACETS.filter((f) => v.related[f].length)
    sections.push(
      section(
        'Seen together',
        related.length
          ? related.map((f) =>
              h(
                'div',
                { class: 'related' },
                h('div', { class: 'muted small' }, LABELS[f]),
                h(
                  'div',
                  { class: 'related-values' },
                  v.related[f].slice(0, 8).map((r) => {
                    const b = h(
                      'button',
                      { class: 'tag link mono', type: 'button', title: r.value },
                      short(r.value, 24),
                      h('b', {}, ` ×${r.count}`),
                    )
                    b.addEventListener('click', () => void this.open(f, r.value))
                    return b
                  }),
                ),
              ),
            )
          : h(
              'div',
              { class: 'muted small' },
              'No other facet values on the same requests (facets a rule never asked for are not computed).',
            ),
      ),
    )
    sections.push(
      section(
        'Signals',
        v.signals.length
          ? v.signals.map((s) =>
              h(
                'div',
                { class: 'signal' },
                h(
                  'span',
                  { class: `pill a-${s.action}${s.monitor ? ' ghost' : ''}` },
                  s.monitor ? `would ${s.action}` : s.action,
                ),
                h(
                  'div',
                  { class: 'grow' },
                  h('div', { class: 'mono' }, s.rule),
                  h('div', { class: 'muted small' }, s.lastReason),
                ),
                h('b', { class: 'mono' }, `×${s.count}`),
              ),
            )
          : h('div', { class: 'muted small' }, 'No rule said anything about this client.'),
      ),
    )
    if (v.routes.length) {
      const max = Math.max(...v.routes.map((r) => r.count))
      sections.push(
        section(
          'Routes',
          v.routes.map((r) => {
            const fillBar = h('span', { class: 'mini-fill' })
            fillBar.style.width = `${(100 * r.count) / max}%`
            return h(
              'div',
              { class: 'mini' },
              h('span', { class: 'mono' }, r.route),
              h('span', { class: 'mini-bar' }, fillBar),
              h('b', { class: 'mono' }, num(r.count)),
            )
          }),
        ),
      )
    }
    sections.push(
      section(
        'Latest requests',
        h(
          'table',
          { class: 'events compact' },
          h(
            'tbody',
            {},
            v.latest
              .slice(0, 25)
              .map((e) =>
                h(
                  'tr',
                  { class: `row a-${e.action}` },
                  h('td', { class: 'mono muted nowrap' }, clock(e.receivedAt)),
                  h('td', {}, h('span', { class: `pill a-${e.action}` }, e.action)),
                  h(
                    'td',
                    { class: 'mono path', title: e.path },
                    h('b', { class: 'method' }, e.method),
                    ' ',
                    e.path,
                  ),
                  h('td', { class: 'num mono' }, e.status),
                ),
              ),
          ),
        ),
      ),
    )
    fill(this.#body, sections)
  }

  #unblock(v: IdentityView, pre?: DecisionEvent): HTMLElement {
    const choices = new Map<string, { facet: Facet; value: string; checked: boolean }>()
    const add = (facet: Facet, value: string, checked: boolean) => {
      const k = `${facet}\n${value}`
      const had = choices.get(k)
      if (!had) choices.set(k, { facet, value, checked })
      else if (checked) had.checked = true
    }
    add(v.facet, v.value, true)
    for (const f of FACETS) {
      const fromEvent = pre?.client[f]
      if (fromEvent) add(f, fromEvent, true)
    }
    for (const flag of v.flags) add(flag.facet, flag.value, true)
    for (const f of ['fingerprint', 'account', 'ipPrefix'] as const)
      for (const r of v.related[f].slice(0, 3)) add(f, r.value, false)
    const boxes = [...choices.values()].map((c) => {
      const box = h('input', { type: 'checkbox', checked: c.checked })
      box.addEventListener('change', () => (c.checked = box.checked))
      return h(
        'label',
        { class: 'check' },
        box,
        h('span', { class: 'tag' }, c.facet),
        h('span', { class: 'mono' }, short(c.value, 30)),
      )
    })
    const go = h(
      'button',
      { class: 'btn danger', type: 'button', 'data-testid': 'unblock-confirm' },
      'Unblock',
    )
    go.addEventListener('click', async () => {
      const facets: Partial<Record<Facet, string[]>> = {}
      for (const c of choices.values()) if (c.checked) (facets[c.facet] ??= []).push(c.value)
      if (Object.keys(facets).length === 0)
        return toast('Tick at least one value to unblock', 'error')
      go.disabled = true
      try {
        const r = await api.unblock(facets)
        toast(
          `Unblocked: ${r.keysReset} limit ${r.keysReset === 1 ? 'key' : 'keys'} reset, ${r.flagsRemoved.length} ${r.flagsRemoved.length === 1 ? 'flag' : 'flags'} removed`,
          'ok',
        )
        this.#changed()
        void this.open(v.facet, v.value)
      } catch (err) {
        toast(`Unblock failed: ${(err as Error).message}`, 'error')
        go.disabled = false
      }
    })
    return h(
      'section',
      { class: 'unblock' },
      h(
        'div',
        { class: 'unblock-head' },
        h('h3', {}, 'Unblock'),
        h(
          'span',
          { class: 'muted small' },
          'Removes flags and resets rate limits held against the ticked values.',
        ),
      ),
      h('div', { class: 'checks' }, boxes),
      go,
    )
  }
}

function fact(label: string, value: string, tone = ''): HTMLElement {
  return h(
    'div',
    { class: `fact ${tone}` },
    h('div', { class: 'muted small' }, label),
    h('div', { class: 'fact-value' }, value),
  )
}

function section(title: string, ...content: (HTMLElement | HTMLElement[])[]): HTMLElement {
  return h('section', { class: 'drawer-section' }, h('h3', {}, title), ...content)
}
