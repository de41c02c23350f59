/**
 * Small SVG charts, drawn from scratch: a stacked area of traffic by action over time (with a
 * hover read-out), sparklines for the headline cards, and stacked bars for top routes.
 */
import { h, s } from './dom.js'
import { clock, COLOURS, num } from './format.js'
import { ACTIONS, type Action } from './types.js'

const W = 760
const H = 230
const PAD = { top: 12, right: 12, bottom: 24, left: 44 }

/** Buckets: `[start ms, counts by action]`, oldest first. */
export type Series = readonly (readonly [number, readonly number[]])[]

/**
 * Draws the stacked area into `host` (replacing what was there). `shown` picks the actions
 * stacked, bottom first; counts are per bucket and shown per second.
 */
export function stackedArea(
  host: HTMLElement,
  series: Series,
  bucketMs: number,
  shown: readonly Action[],
) {
  const perS = 1000 / bucketMs
  const idx = shown.map((a) => ACTIONS.indexOf(a))
  const stacks = series.map(([, c]) => {
    let acc = 0
    return idx.map((i) => (acc += (c[i] ?? 0) * perS))
  })
  const step = niceStep(Math.max(0.1, ...stacks.map((st) => st[st.length - 1] ?? 0)))
  const max = step * 4
  const iw = W - PAD.left - PAD.right
  const ih = H - PAD.top - PAD.bottom
  const x = (i: number) => PAD.left + (series.length <= 1 ? 0 : (i / (series.length - 1)) * iw)
  const y = (v: number) => PAD.top + ih - (v / max) * ih

  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'aria-label': 'Traffic by action over time',
  })
  const defs = s('defs')
  svg.append(defs)
  for (let g = 0; g <= 4; g++) {
    const v = step * g
    svg.append(
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: PAD.left - 8, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fmtRate(v)),
    )
  }
  const ticks = Math.min(6, series.length)
  for (let t = 0; t < ticks; t++) {
    const i = Math.round((t / Math.max(1, ticks - 1)) * (series.length - 1))
    const at = series[i]?.[0]
    if (at === undefined) continue
    svg.append(
      s(
        'text',
        {
          x: x(i),
          y: H - 6,
          class: 'axis',
          'text-anchor': t === 0 ? 'start' : t === ticks - 1 ? 'end' : 'middle',
        },
        clock(at).slice(0, 5),
      ),
    )
  }
  // Top layer first in the DOM order below is drawn last: draw bottom-up.
  shown.forEach((a, k) => {
    const gid = `g-${a}`
    defs.append(
      s(
        'linearGradient',
        { id: gid, x1: 0, x2: 0, y1: 0, y2: 1 },
        s('stop', { offset: '0%', 'stop-color': COLOURS[a], 'stop-opacity': 0.72 }),
        s('stop', { offset: '100%', 'stop-color': COLOURS[a], 'stop-opacity': 0.3 }),
      ),
    )
    const top = stacks.map((st, i) => [x(i), y(st[k] ?? 0)] as const)
    const bottom = stacks
      .map((st, i) => [x(i), y(k === 0 ? 0 : (st[k - 1] ?? 0))] as const)
      .reverse()
    if (top.length === 0) return
    const d = `M${top.map((p) => p.join(',')).join('L')}L${bottom.map((p) => p.join(',')).join('L')}Z`
    svg.append(s('path', { d, fill: `url(#${gid})`, class: 'area' }))
    svg.append(
      s('path', {
        d: `M${top.map((p) => p.join(',')).join('L')}`,
        stroke: COLOURS[a],
        class: 'line',
      }),
    )
  })

  const cursor = s('line', { y1: PAD.top, y2: PAD.top + ih, class: 'cursor', visibility: 'hidden' })
  svg.append(cursor)
  const tip = h('div', { class: 'tip', hidden: true })
  const overlay = s('rect', { x: PAD.left, y: PAD.top, width: iw, height: ih, fill: 'transparent' })
  overlay.addEventListener('mousemove', (ev) => {
    const box = svg.getBoundingClientRect()
    const px = ((ev.clientX - box.left) / box.width) * W
    const i = Math.max(
      0,
      Math.min(series.length - 1, Math.round(((px - PAD.left) / iw) * (series.length - 1))),
    )
    const [at, counts] = series[i]!
    cursor.setAttribute('x1', String(x(i)))
    cursor.setAttribute('x2', String(x(i)))
    cursor.setAttribute('visibility', 'visible')
    tip.replaceChildren(
      h('div', { class: 'tip-time' }, clock(at)),
      ...[...shown]
        .reverse()
        .map((a) =>
          h(
            'div',
            { class: 'tip-row' },
            h('i', { class: `dot a-${a}` }),
            a,
            h('b', {}, fmtRate((counts[ACTIONS.indexOf(a)] ?? 0) * perS)),
          ),
        ),
    )
    tip.hidden = false
    const left = (x(i) / W) * box.width
    tip.style.left = `${Math.min(left + 14, box.width - 150)}px`
    tip.style.top = '8px'
  })
  overlay.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden')
    tip.hidden = true
  })
  svg.append(overlay)
  host.replaceChildren(svg, tip)
}

/** A sparkline with a soft fill, for the headline cards. */
export function sparkline(values: readonly number[], colour: string): SVGSVGElement {
  const w = 120
  const ht = 32
  const max = Math.max(1, ...values)
  const pts = values.map((v, i) => [
    values.length <= 1 ? 0 : (i / (values.length - 1)) * w,
    ht - 2 - (v / max) * (ht - 4),
  ])
  const line = pts.map((p) => p.join(',')).join('L')
  return s(
    'svg',
    { viewBox: `0 0 ${w} ${ht}`, class: 'spark', preserveAspectRatio: 'none' },
    pts.length
      ? s('path', { d: `M0,${ht}L${line}L${w},${ht}Z`, fill: colour, 'fill-opacity': 0.15 })
      : null,
    pts.length
      ? s('path', {
          d: `M${line}`,
          stroke: colour,
          fill: 'none',
          'stroke-width': 1.6,
          'vector-effect': 'non-scaling-stroke',
        })
      : null,
  )
}

/** A horizontal bar split by action; `scale` is the total that fills the whole width. */
export function stackedBar(byAction: Readonly<Record<Action, number>>, scale: number): HTMLElement {
  const bar = h('div', { class: 'bar' })
  for (const a of ACTIONS) {
    const n = byAction[a] ?? 0
    if (n === 0) continue
    const seg = h('span', { class: `seg a-${a}`, title: `${a}: ${num(n)}` })
    seg.style.width = `${Math.max(0.6, (100 * n) / Math.max(1, scale))}%`
    bar.append(seg)
  }
  return bar
}

/** A round step for four gridlines that cover `v`: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(v: number): number {
  const raw = v / 4
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

function fmtRate(v: number): string {
  if (v === 0) return '0'
  if (v < 1) return `${v.toFixed(2)}/s`
  if (v < 10) return `${v.toFixed(1)}/s`
  return `${num(Math.round(v))}/s`
}
