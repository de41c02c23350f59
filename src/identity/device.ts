/**
 * The device cookie: an id Bulwark issues to every client, signed so it cannot be forged. A
 * client that keeps cookies (every browser, most app HTTP stacks) is one `device` however often
 * it changes IP or copies another browser's headers, and a device is never shared by two people
 * — so limits, flags and risk keyed on it can be strict where a fingerprint or an IP would lock
 * out everyone who shares them. A client that throws its cookies away stays `missing`, a class
 * that rules can count on its own (`device: missing`): stock-browser headers from rotating IPs
 * without a cookie are a stuffing bot, not a crowd of people.
 *
 * Value: `<id>.<first issued>.<issued>.<build>.<HMAC-SHA256 of the rest, 22 base64url
 * characters>` (times in seconds, base 36; `build`: 8 base64url characters of the SHA-256 of
 * the User-Agent it was issued to). The `device` facet is the id alone (not a credential: the
 * signature is what cannot be made). A cookie past half its life is re-issued with the same id
 * and first-issue time, so a device in use never expires and its age is how long it has been
 * known: one known for `trustAfter` is trusted (`identity.deviceTrusted`); a device issued a
 * moment ago vouches for nothing.
 *
 * A cookie is the device's only with the User-Agent it was issued to. Cookies cost a bot one
 * request each: harvested by the dozen, left to age, then handed out across the header sets it
 * rotates through, they would make every attempt a trusted device. Sent with another
 * User-Agent, the cookie keeps its id (limits keyed on `device` keep counting) but the device
 * starts again as new — re-issued for that User-Agent, trusted `trustAfter` later. A person's
 * browser keeps its User-Agent until it updates.
 * @see ../../README.md#device-cookie
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { cookieValue, cookieValues, CONFLICTING } from '../request/cookie.js'
import type { DeviceSpec } from './spec.js'

/**
 * User-Agent → its build tag (bounded: a bot rotating User-Agents only churns it; only
 * ordinary lengths are kept, so 10,000 entries stay small whatever a client sends).
 */
const builds = new Map<string, string>()
const CACHED_UA = 512

/**
 * The client's build: 8 base64url characters of the SHA-256 of its User-Agent. What a device
 * cookie, and a session's standing in the behaviour layer, are bound to.
 */
export function buildOf(headers: IncomingHttpHeaders): string {
  const ua = headers['user-agent'] ?? ''
  let b = builds.get(ua)
  if (b === undefined) {
    b = createHash('sha256').update(ua).digest('base64url').slice(0, BUILD_CHARS)
    if (ua.length > CACHED_UA) return b
    if (builds.size >= MAX_CACHED) builds.clear()
    builds.set(ua, b)
  }
  return b
}

/** What a request's cookies say about its device. */
export interface DeviceRead {
  /** The verified id; undefined when the request carried no valid device cookie. */
  readonly id: string | undefined
  /** When that device was first issued (ms); undefined without one. */
  readonly since: number | undefined
  /** Whether it has been known for `trustAfter`. */
  readonly trusted: boolean
  /** The `Set-Cookie` value to answer with (a new device, or a refresh); undefined for none. */
  readonly setCookie: string | undefined
  /** The id of a new device that `setCookie` gives the client (none with `id`). */
  readonly issued?: string
}

/** Most verified cookie values remembered (each verified once, then a Map lookup). */
const MAX_CACHED = 10_000
const MAC_CHARS = 22
type Verified = readonly [id: string, since: number, issued: number, build: string]
const BUILD_CHARS = 8
/** A connection whose client was given a new cookie and comes back without one gets no other for this long. */
export const REISSUE_AFTER = 2_000
/** A request without a valid cookie that gets no new one either. */
const NO_DEVICE: DeviceRead = Object.freeze({
  id: undefined,
  since: undefined,
  trusted: false,
  setCookie: undefined,
})

/**
 * @example
 * const devices = deviceCookies(config.identity.device)
 * const d = devices.read(req.headers, Date.now())
 * d.id        // undefined on a first visit
 * d.setCookie // 'bw_device=3f…; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure'
 */
export function deviceCookies(spec: DeviceSpec) {
  // Without a configured secret, one per process (`bulwark check` and startup warn about it).
  const keys = spec.secret?.map((s) => Buffer.from(s, 'utf8')) ?? [randomBytes(32)]
  const maxAgeS = Math.floor(spec.maxAge / 1000)
  const attributes =
    `; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=` +
    spec.sameSite[0]!.toUpperCase() +
    spec.sameSite.slice(1) +
    (spec.secure ? '; Secure' : '')
  const prefix = spec.cookie + '='
  /** Verified cookie value → [id, first issued, issued] (seconds). */
  const verified = new Map<string, Verified>()

  function mac(key: Buffer, payload: string): string {
    return createHmac('sha256', key).update(payload).digest('base64url').slice(0, MAC_CHARS)
  }

  function issue(id: string, sinceS: number, nowS: number, build: string): string {
    const payload = `${id}.${sinceS.toString(36)}.${nowS.toString(36)}.${build}`
    return `${prefix}${payload}.${mac(keys[0]!, payload)}${attributes}`
  }

  /** The id and issue times of a well-formed, correctly signed value; undefined otherwise. */
  function verify(value: string): Verified | undefined {
    const cached = verified.get(value)
    if (cached !== undefined) return cached
    const parts = value.split('.')
    if (
      parts.length !== 5 ||
      parts[0] === '' ||
      parts[3]!.length !== BUILD_CHARS ||
      parts[4]!.length !== MAC_CHARS
    )
      return undefined
    const payload = value.slice(0, value.length - MAC_CHARS - 1)
    const given = Buffer.from(parts[4]!, 'latin1')
    for (const key of keys) {
      const want = Buffer.from(mac(key, payload), 'latin1')
      if (given.length !== want.length || !timingSafeEqual(given, want)) continue
      const since = parseInt(parts[1]!, 36)
      const issued = parseInt(parts[2]!, 36)
      if (!Number.isSafeInteger(since) || !Number.isSafeInteger(issued)) return undefined
      const entry = [parts[0]!, since, issued, parts[3]!] as const
      if (verified.size >= MAX_CACHED) verified.clear()
      verified.set(value, entry)
      return entry
    }
    return undefined
  }

  function onlyGenuine(values: readonly string[]): Verified | undefined {
    let found: Verified | undefined
    for (const value of values) {
      const v = verify(value)
      if (v === undefined) continue
      if (found !== undefined && found[0] !== v[0]) return undefined
      found = v
    }
    return found
  }

  /** Per connection: when a new cookie was last issued on it. */
  const issuedOn = new WeakMap<object, { at: number }>()

  /**
   * A new device for a request without a valid cookie, unless its connection was given one a
   * moment ago: a client that throws its cookie away (a bot, or cookies turned off) costs one
   * signature per connection every {@link REISSUE_AFTER}, not one per request. A browser sends
   * the cookie on its next request on that connection (HTTP/1.1 requests on one connection
   * follow each other's answers).
   */
  function fresh(now: number, connection: object | undefined, build: string): DeviceRead {
    if (!mayIssue(now, connection)) return NO_DEVICE
    const nowS = Math.floor(now / 1000)
    const issued = randomUUID().replace(/-/g, '')
    return {
      id: undefined,
      since: undefined,
      trusted: false,
      setCookie: issue(issued, nowS, nowS, build),
      issued,
    }
  }

  function mayIssue(now: number, connection: object | undefined): boolean {
    if (connection === undefined) return true
    const last = issuedOn.get(connection)
    if (last === undefined) issuedOn.set(connection, { at: now })
    else if (now - last.at < REISSUE_AFTER) return false
    else last.at = now
    return true
  }

  /**
   * Per connection: the last cookie header and User-Agent read on it and what they gave. The
   * requests of one keep-alive connection carry the same cookie and User-Agent: comparing them
   * with the last ones costs less than the cookie's parse and the two cached lookups, which
   * hash both strings anew for every request (each arrives as a new string).
   */
  const lastOn = new WeakMap<object, Reading>()

  /** The verified cookie of a request's Cookie header; undefined for none, or none genuine. */
  function cookieOf(header: string | undefined): Verified | undefined {
    if (!header || !header.includes(prefix)) return undefined
    const value = cookieValue(header, spec.cookie)
    if (value === undefined) return undefined
    // Several copies (one set for a sibling domain or path, say): the one that is genuine.
    // Two genuine ones could be anybody's: none.
    return value === CONFLICTING ? onlyGenuine(cookieValues(header, spec.cookie)) : verify(value)
  }

  function reading(headers: IncomingHttpHeaders, connection: object | undefined): Reading {
    const header = headers.cookie
    const ua = headers['user-agent']
    const last = connection === undefined ? undefined : lastOn.get(connection)
    if (last !== undefined && last.header === header && last.ua === ua) return last
    const r: Reading = { header, ua, build: buildOf(headers), cookie: cookieOf(header) }
    if (connection !== undefined) lastOn.set(connection, r)
    return r
  }

  return {
    /**
     * The request's device. A missing, malformed, forged or expired cookie gives no id and a
     * new cookie; of several copies, the one genuine copy counts (two genuine devices: none).
     * A valid cookie past half its life gets a refresh.
     * `connection` is the request's connection, when the listener has one. `own`: it is the
     * client's own (no proxy shares it among its clients), so it is given one new cookie per
     * {@link REISSUE_AFTER}.
     */
    read(headers: IncomingHttpHeaders, now: number, connection?: object, own = true): DeviceRead {
      const { build, cookie: v } = reading(headers, connection)
      const issueOn = own ? connection : undefined
      if (v === undefined) return fresh(now, issueOn, build)
      const nowS = Math.floor(now / 1000)
      const [id, since, issued, issuedTo] = v
      const age = nowS - issued
      if (age < -60 || age >= maxAgeS) return fresh(now, issueOn, build)
      // Another User-Agent: the same device id, known from now on (see the top of this file).
      if (issuedTo !== build)
        return {
          id,
          since: now,
          trusted: false,
          setCookie: mayIssue(now, issueOn) ? issue(id, nowS, nowS, build) : undefined,
        }
      return {
        id,
        since: since * 1000,
        trusted: now - since * 1000 >= spec.trustAfter,
        setCookie: age * 2 >= maxAgeS ? issue(id, since, nowS, build) : undefined,
      }
    },
  }
}

/** What one connection's last Cookie header and User-Agent gave (see `lastOn`). */
interface Reading {
  readonly header: string | undefined
  readonly ua: string | undefined
  readonly build: string
  readonly cookie: Verified | undefined
}

export type DeviceCookies = ReturnType<typeof deviceCookies>
