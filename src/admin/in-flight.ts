/**
 * Counts the requests a server is answering now, for the in-flight gauge: one 'request'
 * listener, and each response's 'close' (which also fires when the client leaves early).
 * @example
 * const inFlight = countInFlight(gw.server)
 * inFlight.value // read at scrape time
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'

export function countInFlight(server: Server) {
  let n = 0
  const done = () => void n--
  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    n++
    res.once('close', done)
  }
  server.on('request', onRequest)
  return {
    get value() {
      return n
    },
    stop() {
      server.off('request', onRequest)
    },
  }
}
