/**
 * The one YAML style choice the configs Bulwark writes (`bulwark audit`'s suggestion, `bulwark
 * init`) share: short lists inline, `paths: [/api/login]`, not one item a line.
 */
import { isMap, isSeq } from 'yaml'

/** Writes every list directly under `node` (a map) in flow style. */
export function flowLists(node: unknown): void {
  if (!isMap(node)) return
  for (const pair of node.items) if (isSeq(pair.value)) pair.value.flow = true
}
