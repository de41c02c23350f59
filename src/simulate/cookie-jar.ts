/**
 * A client's cookies, as much of RFC 6265 as the simulator needs: one host, every cookie sent on
 * every path, `Max-Age=0` or a past `Expires` deletes. Used by SimClient; calls nothing.
 */

/**
 * @example
 * const jar = new CookieJar()
 * jar.store(['sid=abc; Path=/; HttpOnly'])
 * jar.header() // 'sid=abc'
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>()

  /** Takes the `Set-Cookie` values of one response. */
  store(setCookie: readonly string[]): void {
    for (const line of setCookie) {
      const [pair = '', ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const expired = attrs.some((a) => {
        const [k = '', v = ''] = a.split('=').map((s) => s.trim())
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0
        return k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()
      })
      if (expired) this.#cookies.delete(name)
      else this.#cookies.set(name, pair.slice(eq + 1).trim())
    }
  }

  /** The `Cookie` header to send, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  clear(): void {
    this.#cookies.clear()
  }
}
