/**
 * What a layer type provides: the YAML key it owns, the schema of its block, and `create`,
 * which compiles that block once into a {@link Layer}. Adding a layer is one folder in
 * `src/layers/` and one line in `registry.ts`.
 */
import type { z } from 'zod'
import type { Layer, LayerDeps } from '../engine/types.js'

export interface LayerType<Spec> {
  /** The YAML key, such as `limits`. */
  readonly type: string
  readonly spec: z.ZodType<Spec>
  create(spec: Spec, deps: LayerDeps): Layer
}
