/**
 * Bulwark for plain `node:http` handlers: wrap the handler, or call {@link protect} at the top
 * of it. The body stays readable for the handler (it is put back after the layers read it).
 *
 * Owns: nothing but the wiring. Calls embedded/ and adapters/node-response.ts.
 * @see ../../docs/embedded.md#nodehttp
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Bulwark, KnownIdentity } from '../embedded/bulwark.js'
import type { Proceed } from '../embedded/inspection.js'
import { fromNodeRequest } from '../embedded/node-request.js'
import { proceed, sendAnswer } from './node-response.js'

const INTERNAL = '{"error":"Internal Server Error","status":500}'

/** Who the client is, when the app already knows before the layers run. */
export type NodeIdentify<Req> = (
  req: Req,
) => KnownIdentity | string | undefined | Promise<KnownIdentity | string | undefined>

/** Options of {@link protect} and {@link withBulwark}. */
export interface NodeHttpOptions<Req extends IncomingMessage = IncomingMessage> {
  /** Returns the account (or `{ account, session, apiKey }`) the app has authenticated. */
  readonly identify?: NodeIdentify<Req>
}

/**
 * Inspects the request and carries out what Bulwark decided. Resolves the inspection when the
 * app must answer (after any delay; its headers are added to the app's response head and its
 * status observed), or `undefined` when Bulwark answered.
 * @example
 * createServer(async (req, res) => {
 *   if (!(await protect(bulwark, req, res))) return
 *   res.end('hello')
 * })
 */
export async function protect<Req extends IncomingMessage>(
  bulwark: Bulwark,
  req: Req,
  res: ServerResponse,
  opts: NodeHttpOptions<Req> = {},
): Promise<Proceed | undefined> {
  const who = opts.identify ? await opts.identify(req) : undefined
  const r = await bulwark.inspect(
    fromNodeRequest(req),
    typeof who === 'string' ? { account: who } : who,
  )
  if (r.kind === 'answer') {
    sendAnswer(bulwark, req, res, r)
    return undefined
  }
  return new Promise((resolve) => proceed(bulwark, res, r, () => resolve(r)))
}

/**
 * Wraps a handler: it runs only for requests Bulwark lets through, and gets the inspection as
 * a third argument. A handler that throws (or rejects) before answering gets a 500.
 * @example
 * createServer(withBulwark(bulwark, (req, res) => res.end('hello'))).listen(3000)
 */
export function withBulwark<Req extends IncomingMessage, Res extends ServerResponse>(
  bulwark: Bulwark,
  handler: (req: Req, res: Res, inspection: Proceed) => unknown,
  opts: NodeHttpOptions<Req> = {},
): (req: Req, res: Res) => void {
  return function bulwarkHandler(req, res) {
    const fail = (err: unknown) => {
      if (res.headersSent) return void res.destroy(err as Error)
      const body = INTERNAL
      res.writeHead(500, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      res.end(body)
    }
    protect(bulwark, req, res, opts)
      .then((r) => {
        if (r) return handler(req, res, r)
      })
      .catch(fail)
  }
}
