/**
 * Runs the compiled layers over one request. Stays synchronous while every layer answers
 * synchronously; switches to promises only from the first layer that returns one.
 * An enforced `block` ends the run; monitor verdicts never do.
 */
import type { Layer, MaybePromise, RequestContext, Verdict } from './types.js'

export function runLayers(
  layers: readonly Layer[],
  ctx: RequestContext,
  from = 0,
  acc: Verdict[] = [],
): MaybePromise<Verdict[]> {
  for (let i = from; i < layers.length; i++) {
    const v = layers[i]!.check(ctx)
    if (v instanceof Promise)
      return v.then((r) => (add(acc, r) ? acc : runLayers(layers, ctx, i + 1, acc)))
    if (add(acc, v)) return acc
  }
  return acc
}

/** True when the pipeline must stop. */
function add(acc: Verdict[], v: Verdict | readonly Verdict[] | undefined): boolean {
  if (v === undefined) return false
  if (!isList(v)) {
    acc.push(v)
    return stops(v)
  }
  let stop = false
  for (const one of v) {
    acc.push(one)
    if (stops(one)) stop = true
  }
  return stop
}

/**
 * An enforced block ends the run; so does an enforced deceive — a trap's fake must be the
 * answer (a later layer's refusal would tell the bot the route is not real).
 */
function stops(v: Verdict): boolean {
  return (v.action === 'block' || v.action === 'deceive') && !v.monitor
}

function isList(v: Verdict | readonly Verdict[]): v is readonly Verdict[] {
  return Array.isArray(v)
}
