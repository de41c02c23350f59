/**
 * Deep-freezes a loaded config so no layer can change what another one reads (fastify's
 * `deepFreezeObject`). Called by `load.ts` on the validated result.
 */

/**
 * Freezes `v` and every plain object and array inside it, then returns `v`.
 *
 * Class instances (RegExp, Date, Map, URL, compiled matchers…) are left as they are: freezing
 * them either breaks their methods (a frozen global RegExp cannot move `lastIndex`) or protects
 * nothing (a frozen Map still accepts `set`).
 * @example deepFreeze({ limits: { rules: [] } }).limits.rules.push(rule) // TypeError
 */
export function deepFreeze<T>(v: T): T {
  freeze(v, new WeakSet())
  return v
}

// `seen` rather than `Object.isFrozen`: a schema's `.readonly()` freezes only the top level, and
// the children of an already-frozen object still need freezing.
function freeze(v: unknown, seen: WeakSet<object>): void {
  if (!isPlain(v) || seen.has(v)) return
  seen.add(v)
  Object.freeze(v)
  for (const key of Reflect.ownKeys(v)) freeze((v as Record<PropertyKey, unknown>)[key], seen)
}

function isPlain(v: unknown): v is object {
  if (Array.isArray(v)) return true
  if (typeof v !== 'object' || v === null) return false
  const proto: unknown = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}
