/**
 * Bulwark as Hono middleware, for Hono on Node (`@hono/node-server`).
 *
 * The request is read from node:http's own request (`c.env.incoming`): the target exactly as
 * received, headers in arrival order, the socket's address. Off Node (or under `app.request()`
 * in tests) it falls back to the `Request`, which has been through URL parsing: dot segments
 * and `\` are resolved before Bulwark sees them (docs/embedded.md#hono).
 *
 * Bulwark's headers and the observed status are applied at node's response head (as in the
 * node-http adapter); off Node, to `c.res` after `next()`.
 *
 * A layer that reads the body reads node's stream (capped) and leaves the bytes on
 * `incoming.rawBody`, which node-server serves every body read from (`c.req.json()`,
 * `parseBody()`, validators, `c.req.raw`). Off Node it reads the `Request` stream and hands the
 * bytes back through Hono's body cache and a fresh `c.req.raw`.
 *
 * Owns: the wiring. Calls embedded/. Imports only types from Hono.
 * @see ../../docs/embedded.md#hono
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import type { Bulwark, KnownIdentity } from '../embedded/bulwark.js'
import { fromFetchRequest } from '../embedded/fetch-request.js'
import { readNodeBody, type ParsedBodyCarrier } from '../embedded/node-body.js'
import type { Inspection } from '../embedded/inspection.js'
import type { RawRequest } from '../engine/context.js'
import { atResponseHead } from './node-response.js'

/** The context variables the middleware sets: `c.get('bulwark')`. */
export interface BulwarkHonoEnv {
  Variables: { bulwark: Inspection }
}

/** Options of {@link bulwarkHono}. */
export interface HonoOptions {
  /** The account (or `{ account, session, apiKey }`) your authentication established. */
  readonly identify?: (
    c: Context,
  ) => KnownIdentity | string | undefined | Promise<KnownIdentity | string | undefined>
  /** The client's address off Node (on Node it is the socket's). */
  readonly remoteAddress?: (c: Context) => string | undefined
}

/**
 * The Hono middleware; the inspection is `c.get('bulwark')`.
 * @example
 * const bulwark = await createBulwark({ configFile: 'bulwark.yaml' })
 * app.use(bulwarkHono(bulwark))
 * serve({ fetch: app.fetch, port: 3000 })
 * @see ../../docs/embedded.md#hono
 */
export function bulwarkHono(
  bulwark: Bulwark,
  opts: HonoOptions = {},
): MiddlewareHandler<BulwarkHonoEnv> {
  return async function bulwarkMiddleware(c, next) {
    const who = opts.identify ? await opts.identify(c as unknown as Context) : undefined
    const r = await bulwark.inspect(
      rawRequest(c, opts),
      typeof who === 'string' ? { account: who } : who,
    )
    c.set('bulwark', r)
    if (r.delayMs > 0 && r.kind === 'answer') {
      // A delayed answer (a fake, chaos) waits in the tarpit under its caps; when that is full,
      // a plain 429 goes out at once.
      const held = await new Promise<boolean>((resolve) => {
        if (!bulwark.hold(r, () => resolve(true))) resolve(false)
      })
      if (!held) {
        const o = bulwark.overflow(r)
        bulwark.observe(o, o.status)
        return c.newResponse(o.body, o.status as 429, o.headers)
      }
    } else if (r.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, r.delayMs))
    if (r.kind === 'answer') {
      bulwark.observe(r, r.status)
      return c.newResponse(r.body, r.status as 200, r.headers)
    }
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing
    // On Node, at node's response head: touching c.res would turn node-server's light response
    // into a full Response (and cost more than Bulwark itself).
    if (outgoing) {
      atResponseHead(bulwark, outgoing, r)
      return next()
    }
    try {
      await next()
    } finally {
      for (const k in r.headers) {
        // The device cookie joins the app's cookies; other headers replace the app's.
        if (k === 'set-cookie') c.header(k, r.headers[k], { append: true })
        else c.header(k, r.headers[k] === '' ? undefined : r.headers[k])
      }
      if (!c.res.headers.has('x-request-id')) c.header('x-request-id', r.id)
      bulwark.observe(r, c.res.status)
    }
  }
}

function rawRequest(c: Context<BulwarkHonoEnv>, opts: HonoOptions): RawRequest {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  // Off Node the stream is spent once read: hand the bytes back to Hono's body cache and `raw`.
  const onBody = (bytes: Buffer) => {
    const request = c.req.raw
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
    // Hono keeps promises in its body cache (its declared type says otherwise).
    ;(c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(ab)
    c.req.raw = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: bytes,
      signal: request.signal,
    })
  }
  if (!incoming)
    return fromFetchRequest(c.req.raw, {
      remoteAddress: opts.remoteAddress?.(c as unknown as Context),
      onBody,
    })
  return {
    method: incoming.method ?? 'GET',
    url: incoming.url ?? '/',
    headers: incoming.headers,
    rawHeaders: incoming.rawHeaders,
    remoteAddress: incoming.socket?.remoteAddress,
    connection: incoming.socket ?? undefined,
    httpVersion: incoming.httpVersion,
    // Node streams, not web streams: node-server reads `rawBody` first, so the app gets these bytes.
    readBody: (cap) =>
      readNodeBody(incoming, cap).then((bytes) => {
        if (bytes) (incoming as IncomingMessage & ParsedBodyCarrier).rawBody = bytes
        return bytes
      }),
  }
}
