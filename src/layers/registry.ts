/**
 * Every layer type, keyed by its YAML key. The order here is the order layers run in.
 * Adding a layer = one folder in src/layers/ + one line here.
 */
import { access } from './access/layer.js'
import { auth } from './auth/layer.js'
import { behavior } from './behavior/layer.js'
import { contract } from './contract/layer.js'
import { cors } from './cors/layer.js'
import { deception } from './deception/layer.js'
import { limits } from './limits/layer.js'
import type { LayerType } from './layer-type.js'

// deception first: a trap must fire (and flag) before any other layer answers.
export const layerTypes = {
  deception,
  access,
  cors,
  contract,
  auth,
  limits,
  behavior,
} satisfies Record<string, LayerType<any>>

export type LayerKey = keyof typeof layerTypes
