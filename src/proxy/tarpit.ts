/**
 * The tarpit: holds the gateway's own delayed answers (deception fakes, chaos) on timers, under
 * global caps on how many are held at once and how many answer bytes they keep — so thousands of
 * trapped connections cannot be turned against the gateway. A held answer owns one timer and a
 * reference to its body; no upstream connection, no buffer copy. Beyond a cap the caller gives
 * the cheapest answer (close the connection, or a plain 429) at once.
 *
 * Owns the counts only; the caller (gateway.ts) owns the sockets.
 * @see ../../docs/deception.md#the-tarpit
 */

export interface TarpitOptions {
  /** Most answers held at once. */
  readonly maxConcurrent: number
  /** Most answer bytes held at once. */
  readonly maxBytes: number
  /** What the caller does beyond a cap. */
  readonly overflow: 'close' | '429'
}

export interface TarpitStats {
  /** Answers held now. */
  readonly active: number
  /** Answer bytes held now. */
  readonly bytes: number
  /** Most answers held at once since start. */
  readonly peak: number
  /** Answers that found the tarpit full, since start. */
  readonly overflowed: number
  readonly options: TarpitOptions
}

export interface Tarpit extends TarpitStats {
  /**
   * Holds an answer of `bytes` for `delayMs`, then calls `fire`. Returns the function that
   * releases it early (the client left) — or undefined when a cap is reached: answer cheaply.
   */
  hold(delayMs: number, bytes: number, fire: () => void): (() => void) | undefined
  /** Fires every held answer now (shutdown: nothing waits out its delay). */
  flush(): void
  /** New caps (a reload); answers already held keep their slots. */
  configure(options: TarpitOptions): void
}

interface Held {
  readonly timer: NodeJS.Timeout
  readonly fire: () => void
  readonly release: () => void
}

/**
 * @example
 * const tarpit = createTarpit({ maxConcurrent: 10_000, maxBytes: 64 * 1024 ** 2, overflow: 'close' })
 * const release = tarpit.hold(2_000, body.length, () => res.end(body))
 * if (!release) socket.destroy()
 * else res.once('close', release)
 */
export function createTarpit(initial: TarpitOptions): Tarpit {
  let options = initial
  let active = 0
  let bytes = 0
  let peak = 0
  let overflowed = 0
  const held = new Set<Held>()

  return {
    get active() {
      return active
    },
    get bytes() {
      return bytes
    },
    get peak() {
      return peak
    },
    get overflowed() {
      return overflowed
    },
    get options() {
      return options
    },
    hold(delayMs, size, fire) {
      if (active >= options.maxConcurrent || bytes + size > options.maxBytes) {
        overflowed++
        return undefined
      }
      active++
      bytes += size
      if (active > peak) peak = active
      let done = false
      const release = () => {
        if (done) return
        done = true
        clearTimeout(entry.timer)
        held.delete(entry)
        active--
        bytes -= size
      }
      const entry: Held = {
        timer: setTimeout(function tarpitFire() {
          release()
          fire()
        }, delayMs),
        fire,
        release,
      }
      held.add(entry)
      return release
    },
    flush() {
      for (const h of [...held]) {
        h.release()
        h.fire()
      }
    },
    configure(next) {
      options = next
    },
  }
}
