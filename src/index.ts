/**
 * Bulwark's public surface: the engine and its config, the types every part shares, the error
 * catalogue, the in-process (embedded) API and its framework adapters.
 *
 * The adapters import nothing from their frameworks at run time (Fastify and Hono types only),
 * so importing this module never loads a framework.
 * @see ../README.md
 * @see ../docs/embedded.md
 */

// The engine and its config
export { createEngine, type Engine, type EngineOptions } from './engine/engine.js'
export type { RawRequest, PreparedRequest } from './engine/context.js'
export { toEffect, errorBody } from './engine/effect.js'
export { combine } from './engine/decision.js'
export { enrollTotp } from './layers/auth/enroll-totp.js'
export type { TotpEnrolment } from './layers/auth/totp.js'
export { loadGatewayConfig, parseGatewayConfig } from './config/gateway-config.js'
export { ConfigSpec, type Config } from './config/schema.js'
export {
  ACTIONS,
  SEVERITY,
  systemClock,
  type Action,
  type Clock,
  type Decision,
  type Effect,
  type HeaderMap,
  type Identity,
  type Layer,
  type LayerDeps,
  type MaybePromise,
  type Mode,
  type Outcome,
  type RequestBody,
  type RequestContext,
  type RouteInfo,
  type Verdict,
} from './engine/types.js'
export type { Store, Limit, LimitResult } from './store/store.js'
export type { DecisionMessage, NoticeMessage } from './telemetry/channels.js'

// Errors
export { BulwarkError, ConfigError, type BulwarkErrorCode, type ConfigIssue } from './errors.js'

// Embedded: the framework-neutral API
export {
  createBulwark,
  type Bulwark,
  type BulwarkExtras,
  type BulwarkOptions,
  type KnownIdentity,
  type Prepared,
} from './embedded/bulwark.js'
export type { ConfigInput, ConfigSource } from './embedded/config-source.js'
export {
  isAllowed,
  isAnswered,
  isBlocked,
  isChallenged,
  isDeceived,
  isDelayed,
  isDenied,
  isRateLimited,
  type Answer,
  type Inspection,
  type Proceed,
} from './embedded/inspection.js'
export type { BodySource, BulwarkRequest } from './embedded/request.js'
export { fromNodeRequest } from './embedded/node-request.js'
export { fromFetchRequest, type FetchRequestOptions } from './embedded/fetch-request.js'
export { keepRawBody } from './embedded/node-body.js'

// Adapters
export {
  bulwarkExpress,
  type ExpressOptions,
  type ExpressRequestLike,
  type ExpressResponseLike,
} from './adapters/express.js'
export { bulwarkFastify, type FastifyBulwarkOptions } from './adapters/fastify.js'
export {
  protect,
  withBulwark,
  type NodeHttpOptions,
  type NodeIdentify,
} from './adapters/node-http.js'
export { bulwarkHono, type BulwarkHonoEnv, type HonoOptions } from './adapters/hono.js'
