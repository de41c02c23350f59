/** Short-lived messages in the corner: what an action did, or why it failed. */
import { h } from './dom.js'

let host: HTMLElement | undefined

export function toast(text: string, kind: 'ok' | 'error' | 'info' = 'info'): void {
  host ??= document.body.appendChild(
    h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' }),
  )
  const el = h('div', { class: `toast ${kind}` }, text)
  host.append(el)
  setTimeout(() => el.classList.add('out'), 4200)
  setTimeout(() => el.remove(), 4600)
}
