/**
 * Turns `--scenarios` names into scenarios: an id (`office`), a threat id (`OAT-011` picks both
 * scrapers), `humans` or `bots`. Used by `simulate.ts`.
 * @see ../../docs/simulate.md#scenarios
 */
import type { Scenario } from './scenario.js'
import { SCENARIOS } from './scenarios/registry.js'

/**
 * The named scenarios in registry order, each once; every scenario when `names` is empty.
 * @throws {TypeError} naming what is unknown and what would be known.
 * @example selectScenarios(['bots', 'office']).map((s) => s.id)
 */
export function selectScenarios(names: readonly string[] = []): Scenario[] {
  if (names.length === 0) return [...SCENARIOS]
  const picked = new Set<Scenario>()
  for (const raw of names) {
    const name = raw.trim().toLowerCase()
    const hits = SCENARIOS.filter(
      (s) =>
        s.id === name ||
        s.threat?.toLowerCase() === name ||
        (name === 'humans' && s.kind === 'human') ||
        (name === 'bots' && s.kind === 'bot'),
    )
    if (hits.length === 0) {
      const known = ['humans', 'bots', ...SCENARIOS.map((s) => s.id)].join(', ')
      throw new TypeError(
        `unknown scenario ${JSON.stringify(raw)}: expected one of ${known}, or an OAT id`,
      )
    }
    for (const s of hits) picked.add(s)
  }
  return SCENARIOS.filter((s) => picked.has(s))
}
