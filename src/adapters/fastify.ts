/**
 * Bulwark as a Fastify 5 plugin, with Fastify's own hooks:
 *
 * - `preParsing` (default): after every `onRequest` hook (so `identify` can read what your
 *   authentication set), before the body is parsed. A layer that needs the body reads the raw
 *   payload stream, and Fastify's parser is handed those same bytes. Use `hook: 'preHandler'`
 *   to run after parsing and validation instead: the layers then read `request.rawBody` when a
 *   plugin keeps it, else `request.body` re-serialised (docs/embedded.md#bodies).
 * - `onSend`: adds Bulwark's headers to the app's reply and observes its status.
 * - `onResponse` / `onRequestAbort`: observe replies that skipped `onSend` (hijacked) and
 *   clients that left (status 0).
 *
 * Encapsulation is respected the way `fastify-plugin` does it (the `skip-override` symbol):
 * the hooks belong to the context that registers the plugin — and its children — and to no
 * other. Register it at the root to protect everything, or inside a prefix to protect that.
 *
 * Owns: the wiring. Calls embedded/. Imports only types from Fastify.
 * @see ../../docs/embedded.md#fastify
 */
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import type { Bulwark, KnownIdentity } from '../embedded/bulwark.js'
import type { Answer, Inspection } from '../embedded/inspection.js'
import { serialiseParsed } from '../embedded/parsed-body.js'
import type { RawRequest } from '../engine/context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Bulwark's inspection of this request, once the bulwark plugin has run. */
    bulwark: Inspection | null
  }
}

/** Options of the {@link bulwarkFastify} plugin. */
export interface FastifyBulwarkOptions {
  readonly bulwark: Bulwark
  /** The account (or `{ account, session, apiKey }`) your authentication established. */
  readonly identify?: (
    request: FastifyRequest,
  ) => KnownIdentity | string | undefined | Promise<KnownIdentity | string | undefined>
  /** Where the layers run: `preParsing` (default, raw body) or `preHandler` (parsed body). */
  readonly hook?: 'preParsing' | 'preHandler'
}

/**
 * The Fastify plugin. Register it with `{ bulwark }` where its hooks should apply.
 * @example
 * const bulwark = await createBulwark({ configFile: 'bulwark.yaml' })
 * await app.register(bulwarkFastify, { bulwark })
 * @see ../../docs/embedded.md#fastify
 */
export const bulwarkFastify: FastifyPluginCallback<FastifyBulwarkOptions> = function bulwarkPlugin(
  fastify,
  opts,
  done,
) {
  const { bulwark, identify } = opts
  if (!bulwark || typeof bulwark.inspect !== 'function')
    return done(new TypeError('bulwarkFastify: pass { bulwark } made by createBulwark()'))
  if (!fastify.hasRequestDecorator('bulwark')) fastify.decorateRequest('bulwark', null)

  async function inspect(request: FastifyRequest, raw: RawRequest): Promise<Inspection> {
    const who = identify ? await identify(request) : undefined
    const r = await bulwark.inspect(raw, typeof who === 'string' ? { account: who } : who)
    request.bulwark = r
    return r
  }

  if (opts.hook === 'preHandler') {
    fastify.addHook('preHandler', function bulwarkPreHandler(request, reply, next) {
      const raw = rawRequest(request, (cap) => {
        const kept = (request as { rawBody?: unknown }).rawBody
        const bytes =
          typeof kept === 'string' || Buffer.isBuffer(kept)
            ? Buffer.from(kept)
            : serialiseParsed(request.body, request.headers['content-type'])
        return Promise.resolve(bytes.length > cap ? null : bytes)
      })
      inspect(request, raw).then(
        (r) =>
          afterDelay(bulwark, request, reply, r, (x) =>
            x.kind === 'answer' ? answer(reply, x) : next(),
          ),
        next,
      )
    })
  } else {
    fastify.addHook('preParsing', function bulwarkPreParsing(request, reply, payload, next) {
      let buffered: Buffer | undefined
      const raw = rawRequest(request, (cap) => {
        if (Number(request.headers['content-length']) > cap) return Promise.resolve(null)
        return readCapped(payload, cap).then((b) => (b ? (buffered = b) : null))
      })
      inspect(request, raw).then(
        (r) =>
          afterDelay(bulwark, request, reply, r, (x) => {
            if (x.kind === 'answer') {
              // Unread body bytes are discarded, so the connection can be reused.
              if (!request.raw.complete) payload.resume()
              return answer(reply, x)
            }
            next(null, buffered ? replay(buffered, payload) : payload)
          }),
        (err: Error) => next(err),
      )
    })
  }

  fastify.addHook('onSend', function bulwarkOnSend(request, reply, payload, next) {
    const r = request.bulwark
    if (r) {
      if (r.kind === 'proceed') {
        for (const k in r.headers) {
          if (r.headers[k] === '') reply.removeHeader(k)
          else reply.header(k, r.headers[k])
        }
        if (!reply.hasHeader('x-request-id')) reply.header('x-request-id', r.id)
      }
      bulwark.observe(r, reply.statusCode)
    }
    next(null, payload)
  })
  fastify.addHook('onResponse', function bulwarkOnResponse(request, reply, next) {
    if (request.bulwark) bulwark.observe(request.bulwark, reply.statusCode)
    next()
  })
  fastify.addHook('onRequestAbort', function bulwarkOnAbort(request, next) {
    if (request.bulwark) bulwark.observe(request.bulwark, 0)
    next()
  })
  done()
}

// What fastify-plugin sets: the hooks apply to the registering context, not a new child one.
Object.assign(bulwarkFastify, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'bulwark',
})

function rawRequest(request: FastifyRequest, readBody: RawRequest['readBody']): RawRequest {
  const req = request.raw
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    remoteAddress: req.socket?.remoteAddress,
    connection: req.socket ?? undefined,
    httpVersion: req.httpVersion,
    readBody,
  }
}

function answer(reply: FastifyReply, r: Answer): void {
  // Bytes, so Fastify sends the content type as given (a string would gain "; charset=utf-8").
  void reply.code(r.status).headers(r.headers).send(Buffer.from(r.body))
}

/**
 * Runs `go` after the inspection's delay. A delayed answer (a fake, chaos) waits in the tarpit
 * under its caps; when the tarpit is full the connection is closed (`overflow: close`) or `go`
 * gets a plain 429 at once — as the proxy does.
 */
function afterDelay(
  bulwark: Bulwark,
  request: FastifyRequest,
  reply: FastifyReply,
  r: Inspection,
  go: (r: Inspection) => void,
): void {
  if (r.delayMs <= 0) return go(r)
  if (r.kind !== 'answer') {
    setTimeout(go, r.delayMs, r)
    return
  }
  const release = bulwark.hold(r, () => go(r))
  if (release) {
    reply.raw.once('close', release)
    return
  }
  if (bulwark.tarpit.options.overflow === 'close') {
    request.raw.socket?.destroy()
    bulwark.observe(r, 0)
    return
  }
  go(bulwark.overflow(r))
}

/** The bytes the layers read, as the payload Fastify's parser reads next. */
function replay(bytes: Buffer, original: Readable & { receivedEncodedLength?: number }): Readable {
  const s = new PassThrough() as PassThrough & { receivedEncodedLength?: number }
  // Fastify compares this with Content-Length (a decoding hook's stream sets its own).
  s.receivedEncodedLength = original.receivedEncodedLength ?? bytes.length
  s.end(bytes)
  return s
}

/** Reads a payload stream up to `cap` bytes; null when larger or when it fails. */
function readCapped(stream: Readable, cap: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = (v: Buffer | null) => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      if (v === null) stream.pause()
      resolve(v)
    }
    const onData = (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c
      size += b.length
      if (size > cap) return finish(null)
      chunks.push(b)
    }
    const onEnd = () => finish(Buffer.concat(chunks, size))
    const onError = () => finish(null)
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onError)
  })
}
