/**
 * A scenario: one kind of traffic (people shopping, a named automated threat), as a function of
 * the world it runs in. Scenarios are listed in `scenarios/registry.ts`, one line each.
 * @see ../../docs/simulate.md#scenarios
 */
import type { ClientKind } from './report.js'
import type { World } from './world.js'

/** One kind of traffic, run side by side with every other selected scenario. */
export interface Scenario {
  /** Used by `--scenarios`: `credential-stuffing`, `office`. */
  readonly id: string
  readonly kind: ClientKind
  /**
   * The threat it plays, by id in the OWASP Automated Threats to Web Applications handbook
   * (`OAT-008`), or in the OWASP API Security Top 10 when the handbook has none.
   */
  readonly threat?: string
  /** One line for the report. */
  readonly title: string
  /** Sends traffic until the run ends (or its work is done); may throw `Stopped`. */
  run(world: World): Promise<void>
}
