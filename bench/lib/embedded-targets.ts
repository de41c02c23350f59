/**
 * The embedded bench's targets: every framework alone, with Bulwark's adapter, and (where the
 * framework has a popular one) with its rate-limit plugin. Shared by the driver
 * (bench/embedded.ts) and the app process (bench/lib/embedded-app.ts).
 */

export const FRAMEWORKS = ['express', 'express4', 'fastify', 'node-http', 'hono'] as const
export const VARIANTS = ['alone', 'bulwark', 'plugin'] as const
export type Framework = (typeof FRAMEWORKS)[number]
export type Variant = (typeof VARIANTS)[number]

/** The rate-limit plugin each framework is compared with. */
export const PLUGIN: Readonly<Partial<Record<Framework, string>>> = {
  express: 'express-rate-limit',
  express4: 'express-rate-limit',
  fastify: '@fastify/rate-limit',
}

/** Measured unless `--frameworks` says otherwise (express4 is wired exactly like express). */
export const DEFAULT_FRAMEWORKS: readonly Framework[] = ['express', 'fastify', 'node-http', 'hono']

/** The plugins' limit: the bench is never refused, as with Bulwark's open config. */
export const PLUGIN_LIMIT = 1_000_000_000

export interface EmbeddedTarget {
  readonly name: string
  readonly framework: Framework
  readonly variant: Variant
}

export function targetsFor(frameworks: readonly Framework[]): EmbeddedTarget[] {
  return frameworks.flatMap((framework) =>
    VARIANTS.filter((v) => v !== 'plugin' || PLUGIN[framework] !== undefined).map((variant) => ({
      name: `${framework}:${variant}`,
      framework,
      variant,
    })),
  )
}
