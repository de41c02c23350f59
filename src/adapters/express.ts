/**
 * Bulwark as Express middleware (Express 4 and 5: it relies only on node:http and `next`).
 *
 * Mount it at the application root, first (or after your authentication, to use `identify`):
 * an answer (429, 403, 400…) goes out at once, anything else continues to the app with the
 * inspection on `res.locals.bulwark`, Bulwark's headers added to the app's response head and
 * the status observed there. Bodies: before the body parser, the layers read the stream and
 * put it back; after it, they read `req.rawBody` (keep it with `keepRawBody`) or, failing that,
 * the parsed `req.body` re-serialised (see docs/embedded.md#bodies for what that loses).
 *
 * Owns: the wiring. Calls embedded/ and adapters/node-response.ts; imports nothing from Express.
 * @see ../../docs/embedded.md#express
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Bulwark } from '../embedded/bulwark.js'
import type { ParsedBodyCarrier } from '../embedded/node-body.js'
import { fromNodeRequest } from '../embedded/node-request.js'
import type { NodeIdentify } from './node-http.js'
import { proceed, sendAnswer } from './node-response.js'

export { keepRawBody } from '../embedded/node-body.js'

/** The parts of Express's request the middleware reads. */
export interface ExpressRequestLike extends IncomingMessage, ParsedBodyCarrier {
  /** The target as received: `req.url` loses a mounted router's prefix. */
  originalUrl?: string
}

/** The parts of Express's response the middleware uses. */
export interface ExpressResponseLike extends ServerResponse {
  locals?: Record<string, unknown>
}

/** Options of {@link bulwarkExpress}. */
export interface ExpressOptions<Req extends IncomingMessage = ExpressRequestLike> {
  /**
   * The account (or `{ account, session, apiKey }`) your own authentication established for
   * this request; runs before the layers. `bulwarkExpress<Request>(…)` types `req` as yours.
   */
  readonly identify?: NodeIdentify<Req>
}

/**
 * The Express middleware; the inspection is `res.locals.bulwark`.
 * @example
 * const bulwark = await createBulwark({ configFile: 'bulwark.yaml' })
 * app.use(bulwarkExpress(bulwark))
 * app.use(express.json())
 * @see ../../docs/embedded.md#express
 */
export function bulwarkExpress<Req extends ExpressRequestLike = ExpressRequestLike>(
  bulwark: Bulwark,
  opts: ExpressOptions<Req> = {},
): (req: Req, res: ExpressResponseLike, next: (err?: unknown) => void) => void {
  const identify = opts.identify
  return function bulwarkMiddleware(req, res, next) {
    const run = async () => {
      const who = identify ? await identify(req) : undefined
      const raw = fromNodeRequest(req, req.originalUrl ?? req.url)
      const r = await bulwark.inspect(raw, typeof who === 'string' ? { account: who } : who)
      if (res.locals) res.locals.bulwark = r
      if (r.kind === 'answer') return sendAnswer(bulwark, req, res, r)
      proceed(bulwark, res, r, () => next())
    }
    // Express 4 ignores a returned promise: route errors to `next` explicitly.
    run().catch(next)
  }
}
