/**
 * Server-sent events for the dashboard's live feed (`GET /api/events/stream`). Each message is
 * serialised once for every client. A client that cannot keep up is not buffered for: its
 * messages are dropped (and counted) until its socket drains, then it is told how many it
 * missed. At most `maxClients` streams are open at once.
 *
 * Owns the open responses and a heartbeat timer. Called by admin.ts (open) and feed.ts (send).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

interface Client {
  readonly res: ServerResponse
  /** Wants sampled allowed requests too. */
  readonly allowed: boolean
  congested: boolean
  dropped: number
}

export interface StreamOptions {
  readonly maxClients?: number
  /** Comment line sent this often so proxies keep the connection (default 15 s). */
  readonly heartbeatMs?: number
  /** Called every second while a client is connected (the feed sends its tick). */
  readonly onSecond?: () => void
}

/**
 * @example
 * const stream = new EventStream()
 * stream.open(req, res, { allowed: false })
 * stream.send('decision', event, { id: event.seq })
 */
export class EventStream {
  readonly #clients = new Set<Client>()
  readonly #max: number
  readonly #heartbeatMs: number
  readonly #onSecond: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #beats = 0

  constructor(opts: StreamOptions = {}) {
    this.#max = opts.maxClients ?? 32
    this.#heartbeatMs = opts.heartbeatMs ?? 15_000
    this.#onSecond = opts.onSecond
  }

  get size(): number {
    return this.#clients.size
  }

  /** Whether any client wants sampled allowed requests. */
  get wantsAllowed(): boolean {
    for (const c of this.#clients) if (c.allowed) return true
    return false
  }

  /**
   * Starts a stream on `res`, then writes `backlog` (events the client missed). False, with a
   * 503 sent, when too many streams are open.
   */
  open(
    req: IncomingMessage,
    res: ServerResponse,
    opts: { allowed: boolean; backlog?: readonly { seq: number }[] },
  ): boolean {
    if (this.#clients.size >= this.#max) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' })
      res.end(JSON.stringify({ error: 'too many event streams open' }))
      return false
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    req.socket.setNoDelay(true)
    req.socket.setTimeout(0)
    const client: Client = { res, allowed: opts.allowed, congested: false, dropped: 0 }
    this.#clients.add(client)
    res.on('close', () => {
      this.#clients.delete(client)
      if (this.#clients.size === 0) this.#stop()
    })
    res.on('drain', () => {
      client.congested = false
      if (client.dropped > 0) {
        const n = client.dropped
        client.dropped = 0
        this.#write(client, `event: dropped\ndata: {"count":${n}}\n\n`)
      }
    })
    res.write('retry: 2000\n\n')
    for (const e of opts.backlog ?? []) this.#write(client, frame('decision', e, e.seq))
    this.#start()
    return true
  }

  /** Sends one message to every client (`allowedOnly`: only those that asked for allows). */
  send(event: string, data: unknown, opts: { id?: number; allowedOnly?: boolean } = {}): void {
    if (this.#clients.size === 0) return
    const text = frame(event, data, opts.id)
    for (const c of this.#clients) if (!opts.allowedOnly || c.allowed) this.#write(c, text)
  }

  /** Ends every stream. */
  close(): void {
    for (const c of this.#clients) c.res.end()
    this.#clients.clear()
    this.#stop()
  }

  #write(c: Client, text: string): void {
    if (c.congested) {
      c.dropped++
      return
    }
    if (!c.res.write(text)) c.congested = true
  }

  #start(): void {
    if (this.#timer) return
    const beatEvery = Math.max(1, Math.round(this.#heartbeatMs / 1000))
    this.#timer = setInterval(() => {
      this.#onSecond?.()
      if (++this.#beats % beatEvery === 0)
        for (const c of this.#clients) if (!c.congested) c.res.write(':\n\n')
    }, 1000)
    this.#timer.unref()
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}

function frame(event: string, data: unknown, id?: number): string {
  const head = id === undefined ? '' : `id: ${id}\n`
  return `${head}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
