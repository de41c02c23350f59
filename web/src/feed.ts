/**
 * The live feed: decisions as they stream in, newest on top, filterable by action and text,
 * pausable. A client's IP opens its drill-down; "Unblock" on a refused request opens it on the
 * unblock step, with that request's facets ticked.
 */
import { h, fill } from './dom.js'
import { clock, short } from './format.js'
import { ACTIONS, type Action, type DecisionEvent, type Facet } from './types.js'

const MAX_ROWS = 250
const UNBLOCKABLE: ReadonlySet<Action> = new Set([
  'delay',
  'throttle',
  'challenge',
  'deceive',
  'block',
])

export interface FeedHandlers {
  open(facet: Facet, value: string, preselect?: DecisionEvent): void
  allowedChanged(on: boolean): void
}

export class Feed {
  readonly el: HTMLElement
  readonly #body: HTMLElement
  readonly #count: HTMLElement
  readonly #on: FeedHandlers
  readonly #events: DecisionEvent[] = []
  readonly #shown = new Set<Action>(ACTIONS)
  #text = ''
  #paused = false
  #held = 0
  readonly #pause: HTMLButtonElement

  constructor(on: FeedHandlers) {
    this.#on = on
    this.#body = h('tbody')
    this.#count = h('span', { class: 'muted small' })
    const chips = ACTIONS.map((a) => {
      const chip = h(
        'button',
        { class: `chip on a-${a}`, type: 'button', 'aria-pressed': 'true', 'data-action': a },
        h('i', { class: `dot a-${a}` }),
        a,
      )
      chip.addEventListener('click', () => {
        if (this.#shown.has(a)) this.#shown.delete(a)
        else this.#shown.add(a)
        chip.classList.toggle('on', this.#shown.has(a))
        chip.setAttribute('aria-pressed', String(this.#shown.has(a)))
        if (a === 'allow') on.allowedChanged(this.#shown.has('allow'))
        this.#render()
      })
      return chip
    })
    // Plain allows are a sample, streamed only on request: start with them off.
    this.#shown.delete('allow')
    chips[0]!.classList.remove('on')
    chips[0]!.setAttribute('aria-pressed', 'false')
    const search = h('input', {
      type: 'search',
      class: 'search',
      placeholder: 'Filter: path, IP, rule, reason…',
      'aria-label': 'Filter the feed',
    })
    search.addEventListener('input', () => {
      this.#text = search.value.trim().toLowerCase()
      this.#render()
    })
    this.#pause = h('button', { class: 'btn ghost', type: 'button' }, 'Pause')
    this.#pause.addEventListener('click', () => this.#togglePause())
    this.el = h(
      'section',
      { class: 'panel feed', 'data-testid': 'feed' },
      h(
        'header',
        { class: 'panel-head' },
        h('h2', {}, 'Live decisions', h('span', { class: 'live-dot', title: 'streaming' })),
        this.#count,
        h('div', { class: 'spacer' }),
        search,
        this.#pause,
      ),
      h('div', { class: 'chips' }, chips),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'events' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'Time'),
              h('th', {}, 'Action'),
              h('th', {}, 'Request'),
              h('th', {}, 'Client'),
              h('th', {}, 'Why'),
              h('th', { class: 'num' }, 'Status'),
              h('th', {}, ''),
            ),
          ),
          this.#body,
        ),
      ),
    )
    this.#render()
  }

  /** Replaces the feed's content (initial load). */
  load(events: readonly DecisionEvent[]): void {
    this.#events.splice(0, this.#events.length, ...events.slice(0, MAX_ROWS))
    this.#render()
  }

  add(e: DecisionEvent): void {
    if (this.#events.some((x) => x.seq === e.seq)) return
    this.#events.unshift(e)
    if (this.#events.length > MAX_ROWS) this.#events.length = MAX_ROWS
    if (this.#paused) {
      this.#held++
      this.#pause.textContent = `Resume (${this.#held} new)`
      return
    }
    if (this.#visible(e)) {
      this.#body.querySelector('.empty')?.remove()
      this.#body.prepend(this.#row(e, true))
      while (this.#body.children.length > MAX_ROWS) this.#body.lastElementChild?.remove()
      this.#updateCount()
    }
  }

  #togglePause() {
    this.#paused = !this.#paused
    this.#held = 0
    this.#pause.textContent = this.#paused ? 'Resume' : 'Pause'
    this.#pause.classList.toggle('active', this.#paused)
    if (!this.#paused) this.#render()
  }

  #visible(e: DecisionEvent): boolean {
    if (!this.#shown.has(e.action)) return false
    if (!this.#text) return true
    const t = this.#text
    return (
      e.path.toLowerCase().includes(t) ||
      e.rules.some((r) => r.includes(t)) ||
      e.reasons.some((r) => r.reason.toLowerCase().includes(t)) ||
      Object.values(e.client).some((v) => typeof v === 'string' && v.toLowerCase().includes(t))
    )
  }

  #render() {
    const rows = this.#events.filter((e) => this.#visible(e)).map((e) => this.#row(e, false))
    if (rows.length === 0)
      fill(
        this.#body,
        h(
          'tr',
          { class: 'empty' },
          h(
            'td',
            { colspan: 7 },
            h('div', { class: 'empty-title' }, 'No decisions yet'),
            h(
              'div',
              { class: 'muted' },
              'Requests Bulwark refuses, slows or flags appear here the moment they happen.',
            ),
          ),
        ),
      )
    else fill(this.#body, rows)
    this.#updateCount()
  }

  #updateCount() {
    const n = this.#body.querySelectorAll('tr.row').length
    this.#count.textContent = n ? `${n} shown` : ''
  }

  #row(e: DecisionEvent, fresh: boolean): HTMLTableRowElement {
    const decisive = e.reasons.find((r) => !r.monitor && r.action === e.action) ?? e.reasons[0]
    const ip = e.client.ip ?? ''
    const shownAction = e.wouldHave && e.action === 'allow' ? e.wouldHave : e.action
    const openIp = h(
      'button',
      { class: 'link mono', type: 'button', title: 'Drill down into this client' },
      ip,
    )
    openIp.addEventListener('click', () => this.#on.open('ip', ip))
    const facets = [
      e.client.account
        ? h('span', { class: 'tag', title: 'account' }, '@', e.client.account)
        : null,
      e.client.fingerprint
        ? h(
            'span',
            { class: 'tag mono', title: `device fingerprint ${e.client.fingerprint}` },
            h('i', { class: 'fp' }),
            short(e.client.fingerprint, 10),
          )
        : null,
    ]
    let action: HTMLElement
    if (e.wouldHave && e.action === 'allow')
      action = h(
        'span',
        { class: `pill ghost a-${shownAction}`, title: 'monitor mode: would have' },
        `would ${shownAction}`,
      )
    else action = h('span', { class: `pill a-${e.action}` }, e.action)
    const canUnblock = UNBLOCKABLE.has(e.action) && ip !== ''
    const unblock = canUnblock
      ? h('button', { class: 'btn small', type: 'button', 'data-testid': 'unblock-row' }, 'Unblock')
      : null
    unblock?.addEventListener('click', () => this.#on.open('ip', ip, e))
    return h(
      'tr',
      {
        class: `row a-${e.action}${fresh ? ' fresh' : ''}`,
        'data-seq': e.seq,
        'data-action': e.action,
      },
      h('td', { class: 'mono muted nowrap' }, clock(e.receivedAt)),
      h('td', {}, action),
      h(
        'td',
        { class: 'req' },
        h(
          'div',
          { class: 'mono path', title: e.path },
          h('b', { class: 'method' }, e.method),
          ' ',
          e.path,
        ),
        h('div', { class: 'muted small mono' }, e.route),
      ),
      h('td', { class: 'client' }, openIp, h('div', { class: 'facets' }, facets)),
      h(
        'td',
        { class: 'why' },
        decisive
          ? [
              h('div', { class: 'rule mono' }, decisive.rule),
              h('div', { class: 'muted small reason', title: decisive.reason }, decisive.reason),
            ]
          : h('span', { class: 'muted' }, '—'),
      ),
      h(
        'td',
        { class: 'num mono' },
        h('span', { class: `status s${Math.floor(e.status / 100)}` }, e.status || '—'),
      ),
      h('td', { class: 'actions' }, unblock),
    )
  }
}
