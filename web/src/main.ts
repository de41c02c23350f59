/**
 * The Bulwark dashboard: signs in when the admin listener wants a token, then lays out the
 * headline cards, the traffic chart, top routes, the live feed, flagged clients and top rules,
 * kept current by the event stream (decisions, a tick a second) and light polling.
 */
import './style.css'
import { api, openStream, Unauthorized } from './api.js'
import { renderCards } from './cards.js'
import { stackedArea } from './charts.js'
import { fill, h } from './dom.js'
import { Drawer } from './drawer.js'
import { Feed } from './feed.js'
import { clock, span } from './format.js'
import { groupFlags, renderFlags, renderRoutes, renderRules } from './panels.js'
import { toast } from './toast.js'
import {
  ACTIONS,
  isPlainAllow,
  type Action,
  type Flag,
  type Status,
  type Summary,
} from './types.js'

const REFUSED: readonly Action[] = ['delay', 'throttle', 'challenge', 'deceive', 'block']

const app = document.getElementById('app')!

async function boot(): Promise<void> {
  const s = await api.session()
  if (s.auth === 'token' && !s.authenticated) return signIn()
  start(s.auth === 'token')
}

function signIn(): void {
  const input = h('input', {
    type: 'password',
    class: 'input',
    placeholder: 'Admin token',
    autocomplete: 'current-password',
    'aria-label': 'Admin token',
    'data-testid': 'token',
  })
  const error = h('div', { class: 'error small' })
  const form = h(
    'form',
    { class: 'login' },
    logo(),
    h('h1', {}, 'Bulwark admin'),
    h('p', { class: 'muted' }, 'Enter the admin token (admin.token in the config).'),
    input,
    error,
    h('button', { class: 'btn primary', type: 'submit' }, 'Sign in'),
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    try {
      await api.login(input.value)
      await boot()
    } catch (err) {
      error.textContent = (err as Error).message
    }
  })
  fill(app, h('div', { class: 'login-wrap' }, form))
  input.focus()
}

function start(withToken: boolean): void {
  let status: Status | undefined
  let summary: Summary | undefined
  let flags: Flag[] = []
  const ticks: number[][] = []
  let chartActions: readonly Action[] = ACTIONS
  let closeStream: (() => void) | undefined
  let lastSeq = 0
  let allowed = false

  const drawer = new Drawer(() => void refreshFlags())
  const feed = new Feed({
    open: (f, v, pre) => void drawer.open(f, v, pre),
    allowedChanged(on) {
      allowed = on
      connect()
    },
  })

  const gatewayInfo = h('div', { class: 'gw-info' })
  const live = h('span', { class: 'live off', 'data-testid': 'live' }, h('i', {}), 'connecting')
  const reload = h(
    'button',
    { class: 'btn ghost', type: 'button', title: 'Reload the config file' },
    '↻ Reload config',
  )
  reload.addEventListener('click', async () => {
    reload.disabled = true
    try {
      const r = await api.reload()
      toast(r.ok ? 'Config reloaded' : `Config rejected: ${r.error}`, r.ok ? 'ok' : 'error')
    } catch (err) {
      toast((err as Error).message, 'error')
    } finally {
      reload.disabled = false
    }
  })
  const signOut = withToken ? h('button', { class: 'btn ghost', type: 'button' }, 'Sign out') : null
  signOut?.addEventListener('click', async () => {
    await api.logout()
    location.reload()
  })

  const cards = h('div', { class: 'cards' })
  const chart = h('div', { class: 'chart-host' })
  const legend = h('div', { class: 'legend' })
  const routes = h('div', { class: 'routes' })
  const flagList = h('div', { class: 'flag-list', 'data-testid': 'flags' })
  const rules = h('div', { class: 'rules' })
  const modeAll = h('button', { class: 'seg-btn on', type: 'button' }, 'All traffic')
  const modeRefused = h('button', { class: 'seg-btn', type: 'button' }, 'Refused only')
  const setMode = (refusedOnly: boolean) => {
    chartActions = refusedOnly ? REFUSED : ACTIONS
    modeAll.classList.toggle('on', !refusedOnly)
    modeRefused.classList.toggle('on', refusedOnly)
    drawChart()
  }
  modeAll.addEventListener('click', () => setMode(false))
  modeRefused.addEventListener('click', () => setMode(true))

  fill(
    app,
    h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'brand' },
        logo(),
        h(
          'div',
          {},
          h('div', { class: 'brand-name' }, 'Bulwark'),
          h('div', { class: 'brand-sub' }, 'bot defence gateway'),
        ),
      ),
      gatewayInfo,
      h('div', { class: 'spacer' }),
      live,
      reload,
      signOut,
    ),
    h(
      'main',
      { class: 'grid' },
      cards,
      h(
        'section',
        { class: 'panel traffic' },
        h(
          'header',
          { class: 'panel-head' },
          h('h2', {}, 'Traffic by action'),
          h('span', { class: 'muted small' }, 'requests per second, last 15 minutes'),
          h('div', { class: 'spacer' }),
          h('div', { class: 'seg-ctl' }, modeAll, modeRefused),
        ),
        chart,
        legend,
      ),
      feed.el,
      h(
        'div',
        { class: 'side' },
        panel('Top routes', 'by requests, last 15 min', routes),
        panel('Flagged clients', 'traps sprung, undocumented calls', flagList),
        panel('Rules firing', 'last 15 min', rules),
      ),
    ),
    drawer.el,
  )

  function drawChart() {
    if (!summary) return
    stackedArea(chart, summary.series, summary.bucketMs, chartActions)
    fill(
      legend,
      chartActions.map((a) =>
        h(
          'span',
          { class: 'legend-item' },
          h('i', { class: `dot a-${a}` }),
          a,
          h('b', { class: 'mono' }, String(summary!.totals[a])),
        ),
      ),
    )
  }

  function drawCards() {
    renderCards(cards, { summary, ticks, flagged: groupFlags(flags).length })
  }

  function drawInfo() {
    if (!status) return
    fill(
      gatewayInfo,
      h('span', { class: 'mono' }, status.gateway),
      h('span', { class: `badge ${status.mode === 'monitor' ? 'warn' : ''}` }, status.mode),
      h('span', { class: 'badge' }, `store: ${status.store}`),
      h(
        'span',
        { class: 'muted small' },
        `up ${span(Date.now() - status.startedAt)} · v${status.version}`,
      ),
      status.lastReload
        ? h(
            'span',
            { class: `muted small ${status.lastReload.ok ? '' : 'error'}` },
            `reloaded ${clock(status.lastReload.at)}${status.lastReload.ok ? '' : ' (rejected)'}`,
          )
        : null,
    )
    reload.hidden = !status.canReload
  }

  async function refreshSummary() {
    summary = await api.summary()
    drawChart()
    drawCards()
    renderRoutes(routes, summary)
    renderRules(rules, summary)
  }

  async function refreshFlags() {
    flags = (await api.flags()).flags
    renderFlags(flagList, flags, (f, v) => void drawer.open(f, v))
    drawCards()
  }

  function connect() {
    closeStream?.()
    closeStream = openStream(lastSeq, allowed, {
      decision(e) {
        lastSeq = Math.max(lastSeq, e.seq)
        feed.add(e)
      },
      tick(t) {
        ticks.push(t.counts)
        if (ticks.length > 60) ticks.shift()
        drawCards()
      },
      notice(n) {
        if (n.kind === 'flag' || n.kind === 'unblock') void refreshFlags()
        else if (n.level === 'error') toast(n.msg, 'error')
      },
      reload(r) {
        void api.status().then((s) => ((status = s), drawInfo()))
        if (!r.ok) toast(`Config rejected (${r.why})`, 'error')
      },
      state(on) {
        live.className = `live ${on ? 'on' : 'off'}`
        live.lastChild!.textContent = on ? 'live' : 'reconnecting'
      },
    })
  }

  const guard = (p: Promise<unknown>) =>
    p.catch((err) => {
      if (err instanceof Unauthorized) location.reload()
      else console.warn(err)
    })

  void guard(
    (async () => {
      const [s, ev] = await Promise.all([
        api.status(),
        api.events(),
        refreshSummary(),
        refreshFlags(),
      ])
      status = s
      drawInfo()
      feed.load(ev.events.filter((e) => !isPlainAllow(e)))
      lastSeq = ev.seq
      connect()
    })(),
  )
  setInterval(() => void guard(refreshSummary()), 5_000)
  setInterval(() => void guard(refreshFlags()), 10_000)
  setInterval(drawInfo, 1_000)
}

function panel(title: string, note: string, body: HTMLElement): HTMLElement {
  return h(
    'section',
    { class: 'panel' },
    h(
      'header',
      { class: 'panel-head' },
      h('h2', {}, title),
      h('span', { class: 'muted small' }, note),
    ),
    body,
  )
}

function logo(): HTMLElement {
  const img = h('img', { src: './favicon.svg', alt: '', class: 'logo', width: 30, height: 30 })
  return img
}

boot().catch((err) =>
  fill(
    app,
    h('div', { class: 'error pad' }, `Cannot reach the admin API: ${(err as Error).message}`),
  ),
)
