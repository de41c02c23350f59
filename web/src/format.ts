/** Numbers, times and the action palette, shared by every panel. */
import type { Action } from './types.js'

/** One colour per action, mildest to most severe (also in style.css as --a-<action>). */
export const COLOURS: Readonly<Record<Action, string>> = {
  allow: '#34d399',
  log: '#94a3b8',
  delay: '#22d3ee',
  throttle: '#fbbf24',
  challenge: '#a78bfa',
  deceive: '#f472b6',
  block: '#f87171',
}

export function num(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)}k`
  return n.toLocaleString('en-US')
}

export function pct(part: number, whole: number): string {
  if (whole === 0) return '—'
  const p = (100 * part) / whole
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p < 1 ? p.toFixed(2) : p.toFixed(1)}%`
}

export function clock(t: number): string {
  return new Date(t).toLocaleTimeString('en-GB', { hour12: false })
}

/** `3s`, `4m`, `2h 5m`: how long ago (or, negative, how long until). */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(Math.abs(ms) / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d`
}

/** A long value (fingerprint, session) cut in the middle for display. */
export function short(v: string, max = 22): string {
  return v.length <= max ? v : `${v.slice(0, max - 8)}…${v.slice(-6)}`
}
