/**
 * Every scenario, people first. The order is the report's order; `--scenarios` picks from here.
 * Adding a scenario = one file in this folder + one line here.
 * @see ../../../docs/simulate.md#scenarios
 */
import type { Scenario } from '../scenario.js'
import { adaptiveScraping } from './adaptive-scraping.js'
import { carding } from './carding.js'
import { credentialCracking } from './credential-cracking.js'
import {
  credentialStuffing,
  credentialStuffingFresh,
  credentialStuffingFreshRotating,
  credentialStuffingRotating,
} from './credential-stuffing.js'
import { office } from './office.js'
import { phone } from './phone.js'
import { privilegeEscalation } from './privilege-escalation.js'
import { scraping } from './scraping.js'
import { shoppers } from './shoppers.js'
import { vulnerabilityScanning } from './vulnerability-scanning.js'

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  shoppers,
  office,
  phone,
  credentialStuffing,
  credentialStuffingRotating,
  credentialStuffingFresh,
  credentialStuffingFreshRotating,
  credentialCracking,
  carding,
  scraping,
  vulnerabilityScanning,
  privilegeEscalation,
  adaptiveScraping,
]
