/**
 * Verdicts combine into one Decision: the most severe enforced verdict decides; monitor-mode
 * verdicts only ever set `wouldHave`. Pure and allocation-free for the common "no verdict" case.
 */
import { SEVERITY, type Decision, type Verdict } from './types.js'

const ALLOW: Decision = Object.freeze({
  action: 'allow',
  verdicts: Object.freeze([]) as readonly Verdict[],
})

/**
 * @example
 * combine([{ action: 'throttle', rule: 'limits.a', reason: '…', monitor: false }]).action // 'throttle'
 */
export function combine(verdicts: readonly Verdict[]): Decision {
  if (verdicts.length === 0) return ALLOW
  let decisive: Verdict | undefined
  let shadow: Verdict | undefined
  for (const v of verdicts) {
    if (v.monitor) {
      if (!shadow || SEVERITY[v.action] > SEVERITY[shadow.action]) shadow = v
    } else if (!decisive || SEVERITY[v.action] > SEVERITY[decisive.action]) decisive = v
  }
  const action = decisive?.action ?? 'allow'
  const wouldHave = shadow && SEVERITY[shadow.action] > SEVERITY[action] ? shadow.action : undefined
  if (wouldHave)
    return decisive ? { action, verdicts, decisive, wouldHave } : { action, verdicts, wouldHave }
  return decisive ? { action, verdicts, decisive } : { action, verdicts }
}

/** The decision for a request refused before any layer ran (ambiguous path, 431, 413). */
export function refuse(verdict: Verdict): Decision {
  return { action: verdict.action, verdicts: [verdict], decisive: verdict }
}
