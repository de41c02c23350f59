/**
 * Browser header sets. A simulated client sends one as its own: user agent, client hints,
 * `accept*` headers, in the order that browser sends them, so the gateway's fingerprint (a hash of
 * those names, their order and values) sees what it would see from the real browser. Bots copy
 * these too, as AI-driven bots do; they copy older releases, so no bot ever shares a human's
 * exact header set and each scenario's result stays its own.
 * Used by the world's client factory; calls the Rng.
 * @see ../../docs/simulate.md#clients
 */
import type { Rng } from './rng.js'

/** One browser's header set. */
export interface Profile {
  /** `chrome-124-windows-en-US`: readable in reports and tests. */
  readonly id: string
  readonly mobile: boolean
  /** Names (lower case) and values, in sending order. */
  readonly headers: readonly (readonly [string, string])[]
}

/** The site whose front end calls the API (the demo's CORS rule allows it). */
export const SITE_ORIGIN = 'https://shop.example'

type Family = (v: string) => { ua: string; hints?: readonly [string, string]; mobile: boolean }

const WIN = 'Windows NT 10.0; Win64; x64'
const MAC = 'Macintosh; Intel Mac OS X 10_15_7'
const chromeUa = (os: string, v: string, tail = '') =>
  `Mozilla/5.0 (${os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 ${tail}Safari/537.36`

const FAMILIES: Readonly<Record<string, Family>> = {
  'chrome-windows': (v) => ({
    ua: chromeUa(WIN, v),
    hints: ['Google Chrome', 'Windows'],
    mobile: false,
  }),
  'chrome-mac': (v) => ({ ua: chromeUa(MAC, v), hints: ['Google Chrome', 'macOS'], mobile: false }),
  'edge-windows': (v) => ({
    ua: `${chromeUa(WIN, v)} Edg/${v}.0.0.0`,
    hints: ['Microsoft Edge', 'Windows'],
    mobile: false,
  }),
  'chrome-android': (v) => ({
    ua: chromeUa('Linux; Android 10; K', v, 'Mobile '),
    hints: ['Google Chrome', 'Android'],
    mobile: true,
  }),
  'firefox-windows': (v) => ({
    ua: `Mozilla/5.0 (${WIN}; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`,
    mobile: false,
  }),
  'firefox-linux': (v) => ({
    ua: `Mozilla/5.0 (X11; Linux x86_64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`,
    mobile: false,
  }),
  'safari-mac': (v) => ({
    ua: `Mozilla/5.0 (${MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Safari/605.1.15`,
    mobile: false,
  }),
  'safari-iphone': (v) => ({
    ua: `Mozilla/5.0 (iPhone; CPU iPhone OS ${v.replace('.', '_')} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Mobile/15E148 Safari/604.1`,
    mobile: true,
  }),
}

const LANGUAGES = [
  'en-US,en;q=0.9',
  'en-GB,en;q=0.9',
  'de-DE,de;q=0.9,en;q=0.8',
  'fr-FR,fr;q=0.9,en;q=0.8',
  'es-ES,es;q=0.9',
  'nl-NL,nl;q=0.9,en;q=0.8',
]

/** Releases per engine: Chromium-based, Firefox, Safari. */
interface Releases {
  readonly chromium: readonly string[]
  readonly firefox: readonly string[]
  readonly safari: readonly string[]
}

/** What people run: current releases. */
const HUMAN_RELEASES: Releases = {
  chromium: ['124', '125', '126'],
  firefox: ['125', '126', '127'],
  safari: ['17.3', '17.4', '17.5'],
}
/** What bots copy: a header set captured some releases ago. */
const BOT_RELEASES: Releases = {
  chromium: ['119', '120', '121'],
  firefox: ['119', '120', '121'],
  safari: ['16.5', '16.6', '17.0'],
}

function build(releases: Releases): Profile[] {
  const out: Profile[] = []
  for (const [name, family] of Object.entries(FAMILIES)) {
    const engine = name.startsWith('firefox')
      ? 'firefox'
      : name.startsWith('safari')
        ? 'safari'
        : 'chromium'
    for (const v of releases[engine])
      for (const lang of LANGUAGES)
        out.push(profile(`${name}-${v}-${lang.slice(0, 5)}`, family(v), lang))
  }
  return out
}

function profile(id: string, f: ReturnType<Family>, lang: string): Profile {
  const headers: [string, string][] = []
  if (f.hints) {
    const [brand, platform] = f.hints
    const major = /Chrome\/(\d+)/.exec(f.ua)![1]
    headers.push(
      ['sec-ch-ua', `"Chromium";v="${major}", "${brand}";v="${major}", "Not-A.Brand";v="99"`],
      ['sec-ch-ua-mobile', f.mobile ? '?1' : '?0'],
      ['sec-ch-ua-platform', `"${platform}"`],
    )
  }
  headers.push(
    ['user-agent', f.ua],
    ['accept', 'application/json, text/plain, */*'],
    ['sec-fetch-site', 'same-site'],
    ['sec-fetch-mode', 'cors'],
    ['sec-fetch-dest', 'empty'],
    ['referer', `${SITE_ORIGIN}/`],
    ['accept-encoding', id.startsWith('safari') ? 'gzip, deflate, br' : 'gzip, deflate, br, zstd'],
    ['accept-language', id.startsWith('firefox') ? lang.replace('0.9', '0.7') : lang],
  )
  return { id, mobile: f.mobile, headers }
}

/** 144 header sets people send (8 browsers × 3 releases × 6 languages). */
export const HUMAN_PROFILES: readonly Profile[] = build(HUMAN_RELEASES)
/** 144 header sets bots copy: the same browsers, older releases. */
export const BOT_PROFILES: readonly Profile[] = build(BOT_RELEASES)
/**
 * Bots on people's very header sets (`simulate --bot-headers people`): a bot driving a current
 * browser, or one that copied today's headers. Copies, so a profile still tells who drew it.
 */
export const BOT_PROFILES_AS_PEOPLE: readonly Profile[] = build(HUMAN_RELEASES)

/** Which header sets the bots send: `older` releases than people's, or people's own. */
export type BotHeaders = 'older' | 'people'

/** Deals profiles without repeats until every one has been dealt, then reshuffles. */
export interface ProfileDeck {
  draw(filter?: (p: Profile) => boolean): Profile
}

/**
 * @example profileDeck(HUMAN_PROFILES, rng).draw((p) => p.mobile) // a phone browser
 */
export function profileDeck(profiles: readonly Profile[], rng: Rng): ProfileDeck {
  let left: Profile[] = []
  const shuffle = () => {
    left = [...profiles]
    for (let i = left.length - 1; i > 0; i--) {
      const j = rng.int(0, i)
      ;[left[i], left[j]] = [left[j]!, left[i]!]
    }
  }
  return {
    draw(filter = () => true) {
      let i = left.findIndex(filter)
      if (i < 0) {
        shuffle()
        i = left.findIndex(filter)
        if (i < 0) throw new TypeError('profileDeck: no profile matches the filter')
      }
      return left.splice(i, 1)[0]!
    },
  }
}
