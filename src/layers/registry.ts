/**
 * Every layer type, keyed by its YAML key. The order here is the order layers run in.
 * Adding a layer = one folder in src/layers/ + one line here.
 */
import { access } from './access/layer.js'
import { limits } from './limits/layer.js'
import type { LayerType } from './layer-type.js'

export const layerTypes = { access, limits } satisfies Record<string, LayerType<any>>

export type LayerKey = keyof typeof layerTypes
