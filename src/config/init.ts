/**
 * `bulwark init`: a starting config for an API, from its OpenAPI document. Every layer on,
 * with the rules the README and the demo explain, aimed at this API's own operations: its
 * sign-in, sign-up and password-reset operations (found by path, operation id and an account
 * field in the body) get the per-account, per-device and new-device login limits; every read
 * by id gets a sweep limit on that id; the document itself is the contract (undocumented
 * paths and tampered parameters refused); honeypots sit where scanners look and the API has
 * nothing; behaviour scores what is left. The text is YAML with a comment on each part, and is
 * checked — schema, contract and config lint — before it is written.
 * @see ../../README.md#starting-from-your-openapi-document
 */
import { dirname, relative, resolve } from 'node:path'
import { Document, isMap, isScalar, isSeq, type Scalar, type YAMLMap } from 'yaml'
import { flowLists } from './yaml-lists.js'
import { compileRoutes } from '../request/routes.js'
import {
  accountField,
  guessableField,
  operationKind,
  readApiShape,
  paginationOf,
  takesCode,
  type ApiOperation,
  type QueryParam,
} from './api-shape.js'

export interface InitOptions {
  /** The API's OpenAPI document (3.0 / 3.1, YAML or JSON). */
  readonly openapi: string
  /** Where the config will be written: the document's path is written relative to it. */
  readonly out: string
  /** The backend's URL. */
  readonly upstream: string
  /** `enforce` (default) or `monitor`: watch what it would do first. */
  readonly mode?: 'enforce' | 'monitor'
  /** Browser origins allowed to call the API (CORS); none: no CORS block. */
  readonly origins?: readonly string[]
  /** The gateway's port (default: the config's default, 8080). */
  readonly port?: number
  /**
   * The token issuer (`iss`): with it, the operations the document secures get `auth` rules —
   * a valid token, and the scopes the document lists — checked before the backend is reached.
   */
  readonly issuer?: string
  /** The tokens' audience (`aud`); needed with `issuer`. */
  readonly audience?: string
  /** The issuer's JWKS URL (default: `<issuer>/.well-known/jwks.json`). */
  readonly jwksUri?: string
  /**
   * The sign-in and sign-up pages or apps answer proof-of-work puzzles (`fetchWithChallenge`):
   * the new-device puzzle rules, against stuffing and mass sign-up from rotating IPs, are
   * written enforced instead of in monitor mode.
   */
  readonly puzzles?: boolean
}

export interface InitResult {
  readonly text: string
  /** What the user must check or set, one line each. */
  readonly notes: readonly string[]
  /** What was found: for the command's summary line. */
  readonly found: {
    readonly operations: number
    readonly signIn: readonly string[]
    readonly signUp: readonly string[]
    readonly reset: readonly string[]
    readonly sweeps: number
    /** Rules written in monitor mode (they log what they would do, and refuse nothing). */
    readonly monitorRules: readonly string[]
    /** State-changing operations no limit rule counts (business actions init cannot know). */
    readonly unlimited: readonly string[]
    /** Paginated listings' position parameters given page limits. */
    readonly listings: number
    /** Auth rules written (0 without an issuer). */
    readonly authRules: number
  }
}

/** The secrets the config reads from the environment (set them before `serve`). */
export const INIT_SECRETS = [
  'BULWARK_DEVICE_SECRET',
  'BULWARK_CHALLENGE_SECRET',
  'BULWARK_CANARY_SECRET',
] as const

type Obj = Record<string, unknown>

/**
 * @throws {ConfigError} when the OpenAPI document cannot be read (named with file and pointer).
 * @example
 * const { text, notes } = initConfig({ openapi: 'openapi.yaml', out: 'bulwark.yaml', upstream: 'http://127.0.0.1:3000' })
 */
export function initConfig(opts: InitOptions): InitResult {
  const outDir = dirname(resolve(opts.out))
  const api = readApiShape(resolve(opts.openapi), outDir)
  const notes: string[] = []
  const ops = api.operations
  const of = (kind: ReturnType<typeof operationKind>) =>
    ops.filter((o) => operationKind(o) === kind)
  const signIn = of('sign-in')
  const signUp = of('sign-up')
  const reset = of('password-reset')
  const comments: [path: (string | number)[], text: string][] = []
  const rules: Obj[] = []
  const ruleComments: string[] = []
  const ruleIds = new Set<string>()
  const rule = (comment: string, r: Obj) => {
    // Two operations may give the same id (`reset-codes-per-id`): the second gets `-2`.
    let id = r.id as string
    for (let n = 2; ruleIds.has(id); n++) id = `${r.id as string}-${n}`
    ruleIds.add(id)
    ruleComments.push(comment)
    rules.push({ ...r, id })
  }

  // The new-device puzzles stay in monitor mode unless the front end answers puzzles.
  const puzzleMode = opts.puzzles === true ? {} : { mode: 'monitor' }

  // Accounts: where each sign-in, sign-up and reset names its account.
  const byField = new Map<string, string[]>()
  for (const o of [...signIn, ...signUp, ...reset]) {
    const f = accountField(o)
    if (f === undefined) continue
    const list = byField.get(f) ?? []
    if (!list.includes(o.pattern)) list.push(o.pattern)
    byField.set(f, list)
  }
  const account = [...byField].map(([body, paths]) => ({ body, paths }))

  const signInPaths = unique(signIn.map((o) => o.pattern))
  if (signInPaths.length > 0) {
    const failed = failureStatuses(signIn)
    const where = { paths: signInPaths, methods: ['POST'] }
    rule(
      '5 sign-in attempts per account per minute, from any number of IPs; the devices the account signed in from before are spared (`device: unknown`), so an attacker locks out other devices, not the owner. Counts attempts the API answered.',
      {
        id: 'login-per-account',
        ...where,
        key: ['account'],
        device: 'unknown',
        count: 'outcomes',
        outcomes: ['2xx', '3xx', '4xx', '5xx'],
        limit: 5,
        window: '60s',
      },
    )
    rule(
      `Failed sign-ins (${failed.join(', ')}) per IP, counted after the API answered, among devices not yet trusted: the colleagues behind an office's one IP whose browsers are known keep signing in whoever mistypes.`,
      {
        id: 'failed-logins-per-ip',
        ...where,
        key: ['ip'],
        device: 'untrusted',
        count: 'outcomes',
        outcomes: failed,
        limit: 20,
        window: '10m',
      },
    )
    rule('Failed sign-ins per account across IPs (a distributed attack on one account).', {
      id: 'failed-logins-per-account',
      ...where,
      key: ['account'],
      device: 'unknown',
      count: 'outcomes',
      outcomes: failed,
      limit: 8,
      window: '15m',
    })
    rule(
      'Credential stuffing: many accounts from one browser build on one network (room for an office of 30).',
      {
        id: 'accounts-per-device-network',
        ...where,
        key: ['fingerprint', 'ipPrefix'],
        count: 'distinct',
        distinct: 'account',
        limit: 30,
        window: '10m',
      },
    )
    rule(
      'Credential stuffing from rotating IPs and headers: every attempt comes from a new device. Past 10 failures among new devices, each new device solves a proof-of-work puzzle per sign-in (`challenge:`); devices known for identity.device.trustAfter never see one. MONITOR until your sign-in page or app answers puzzles (fetchWithChallenge from bulwark/challenge; README "Challenges"): a client that does not shows the puzzle\'s 401 as a wrong password, and ordinary typos on a busy site pass 10 in 10 minutes. Raise the limit to your traffic, then remove `mode`.',
      {
        id: 'failed-logins-new-devices',
        ...where,
        key: ['route'],
        device: 'untrusted',
        count: 'outcomes',
        outcomes: failed,
        limit: 10,
        window: '10m',
        action: 'challenge',
        ...puzzleMode,
      },
    )
    rule(
      'A client that keeps its cookie is one device whatever IPs it uses: strict limits are safe.',
      {
        id: 'failed-logins-per-device',
        ...where,
        key: ['device'],
        count: 'outcomes',
        outcomes: failed,
        limit: 10,
        window: '10m',
      },
    )
    rule('Many accounts tried from one device.', {
      id: 'accounts-per-device',
      ...where,
      key: ['device'],
      count: 'distinct',
      distinct: 'account',
      limit: 5,
      window: '10m',
    })
  } else
    notes.push(
      'no sign-in operation found (a POST whose path ends in login, signin, session(s), token or auth, or whose operationId says so, with a username/email field in its body): add identity.account and the login limits by hand (README "limits")',
    )

  const signUpPaths = unique(signUp.map((o) => o.pattern))
  if (signUpPaths.length > 0) {
    rule('Sign-ups per network: fake accounts are made by the batch.', {
      id: 'signups-per-network',
      paths: signUpPaths,
      methods: ['POST'],
      key: ['ipPrefix'],
      limit: 10,
      window: '1h',
    })
    rule(
      'Mass sign-up from rotating IPs and headers: every account comes from a new device. Past 20 sign-ups from new devices in 10 minutes, each new device solves a proof-of-work puzzle to sign up. MONITOR until your sign-up page or app answers puzzles (fetchWithChallenge), and raise the limit to your traffic first.',
      {
        id: 'signups-new-devices',
        paths: signUpPaths,
        methods: ['POST'],
        key: ['route'],
        device: 'untrusted',
        limit: 20,
        window: '10m',
        action: 'challenge',
        ...puzzleMode,
      },
    )
    rule('Sign-ups per device.', {
      id: 'signups-per-device',
      paths: signUpPaths,
      methods: ['POST'],
      key: ['device'],
      limit: 3,
      window: '1h',
    })
  }

  const resetPaths = unique(reset.map((o) => o.pattern))
  // The step that takes a code (a reset confirmation): wrong codes add up per account.
  const resetMethods = unique(reset.map((o) => o.method))
  const confirms = reset.filter(takesCode)
  const byAccount = unique(confirms.filter((o) => accountField(o)).map((o) => o.pattern))
  if (byAccount.length > 0)
    rule(
      "Wrong reset codes per account, from any number of networks: a 6-digit code is a million guesses spread over rotating IPs. While it refuses, the owner's own confirmation waits too: keep the window to the code's lifetime.",
      {
        id: 'reset-codes-per-account',
        paths: byAccount,
        methods: unique(confirms.map((o) => o.method)),
        key: ['account'],
        count: 'outcomes',
        outcomes: ['4xx'],
        limit: 5,
        window: '15m',
      },
    )
  // A confirmation that names its reset in the path (`PUT /password-resets/{id}`): wrong codes
  // per reset, from any number of networks.
  for (const o of confirms) {
    if (accountField(o) !== undefined || o.params.length === 0) continue
    const param = o.params.at(-1)!
    rule(
      `Wrong codes per reset (${param}), from any number of networks: a code is a million guesses spread over rotating IPs.`,
      {
        id: `reset-codes-per-${slug(param)}`,
        paths: [o.pattern],
        methods: [o.method],
        key: [`param:${param}`],
        count: 'outcomes',
        outcomes: ['4xx'],
        limit: 5,
        window: '15m',
      },
    )
  }
  if (resetPaths.length > 0) {
    rule(
      'Password resets per account and network: a reset flood (mail bombing, guessing codes) from one network is held, and requests from elsewhere never lock the owner out of their own reset (a rule per account alone would: three anonymous requests and the owner waits).',
      {
        id: 'resets-per-account-network',
        paths: resetPaths,
        methods: resetMethods,
        key: ['account', 'ipPrefix'],
        limit: 3,
        window: '15m',
      },
    )
    rule('Password resets per network, whichever accounts.', {
      id: 'resets-per-network',
      paths: resetPaths,
      methods: resetMethods,
      key: ['ipPrefix'],
      limit: 20,
      window: '15m',
    })
    rule(
      'A ceiling per account across networks, against mail bombing from rotating IPs (it can keep the owner from asking for an hour while an attack goes on: that is its price).',
      {
        id: 'resets-per-account',
        paths: resetPaths,
        methods: resetMethods,
        key: ['account'],
        limit: 10,
        window: '1h',
      },
    )
    rule('Password resets per device, whichever accounts and networks.', {
      id: 'resets-per-device',
      paths: resetPaths,
      methods: resetMethods,
      key: ['device'],
      limit: 10,
      window: '15m',
    })
  }

  // Operations that take a token: its Authorization header is the client's session, so a
  // token is one client however it rotates IPs, headers and cookies (opaque tokens included).
  const bearerSession = ops.some((o) => o.security !== undefined && !o.security.optional)

  // Sweeps: every read by id, grouped by the id's name (its last path parameter).
  const sweeps = new Map<string, string[]>()
  for (const o of ops) {
    if (o.method !== 'GET' || o.params.length === 0) continue
    const p = o.params.at(-1)!
    const list = sweeps.get(p) ?? []
    if (!list.includes(o.pattern)) list.push(o.pattern)
    sweeps.set(p, list)
  }
  for (const [param, paths] of sweeps) {
    const id = slug(param)
    rule(
      `No sweeping through ${param} values, whatever IPs the sweeper uses: distinct ${param}s per device.`,
      {
        id: `sweep-${id}`,
        paths,
        methods: ['GET'],
        key: ['device'],
        count: 'distinct',
        distinct: `param:${param}`,
        limit: 30,
        window: '60s',
      },
    )
    rule(
      'The same among clients without a device cookie (apps, scripts), per client type on a network: app users elsewhere keep their own budget (and, where the API takes tokens, a request with one is counted per token instead). A sweeper that rotates IPs is held by the per-token rule, relays (a refusal it retries elsewhere links the two) and its risk. Clients that read many ids legitimately (a sync): raise the limits to your traffic.',
      {
        id: `sweep-${id}-cookieless`,
        paths,
        methods: ['GET'],
        key: ['fingerprint', 'ipPrefix'],
        device: 'missing',
        ...(bearerSession ? { session: 'missing' } : {}),
        count: 'distinct',
        distinct: `param:${param}`,
        limit: 20,
        window: '60s',
      },
    )
    if (bearerSession)
      rule(
        `Per token: one stolen token reads at most 30 ${param}s a minute, whatever IPs, headers and cookies it comes with.`,
        {
          id: `sweep-${id}-per-token`,
          paths,
          methods: ['GET'],
          key: ['session'],
          count: 'distinct',
          distinct: `param:${param}`,
          limit: 30,
          window: '60s',
        },
      )
    if (opts.issuer !== undefined)
      rule(`Per signed-in account (the token's sub): at most 30 ${param}s a minute.`, {
        id: `sweep-${id}-per-account`,
        paths,
        methods: ['GET'],
        key: ['account'],
        count: 'distinct',
        distinct: `param:${param}`,
        limit: 30,
        window: '60s',
      })
  }
  // Listings: a scraper that never names an id pages through them instead (`?page=`,
  // `?offset=`, `?cursor=`): distinct positions per client, as ids above, and where a page's
  // size is the client's to choose (`?per_page=`), records read, so a bigger page buys no more.
  const listings = new Map<string, { paths: string[]; size: QueryParam | undefined }>()
  for (const o of ops) {
    const pages = paginationOf(o)
    for (const position of pages?.positions ?? []) {
      const group = listings.get(position) ?? { paths: [], size: pages!.size }
      if (!group.paths.includes(o.pattern)) group.paths.push(o.pattern)
      group.size ??= pages!.size
      listings.set(position, group)
    }
  }
  const budgeted = new Set<string>()
  for (const [param, { paths, size }] of listings) {
    const id = slug(param)
    const where = { paths, methods: ['GET'] }
    const cookieless = {
      key: ['fingerprint', 'ipPrefix'],
      device: 'missing',
      ...(bearerSession ? { session: 'missing' } : {}),
    }
    rule(
      `No paging through a whole listing, whatever IPs the scraper uses: distinct ${param} values per device (a person reads a few pages, a scraper all of them). Clients that page legitimately and fast (an export, a sync): raise the limits to your traffic.`,
      {
        id: `pages-${id}`,
        ...where,
        key: ['device'],
        count: 'distinct',
        distinct: `query:${param}`,
        limit: 30,
        window: '60s',
      },
    )
    rule(`The same among clients without a device cookie, per client type on a network.`, {
      id: `pages-${id}-cookieless`,
      ...where,
      ...cookieless,
      count: 'distinct',
      distinct: `query:${param}`,
      limit: 20,
      window: '60s',
    })
    if (bearerSession)
      rule(`Per token: at most 30 ${param} values a minute, whatever IPs and headers.`, {
        id: `pages-${id}-per-token`,
        ...where,
        key: ['session'],
        count: 'distinct',
        distinct: `query:${param}`,
        limit: 30,
        window: '60s',
      })
    rule(
      `Paging through the whole listing from rotating IPs, header sets and cookies: people read the first few pages, a scraper all of them, whoever it rotates through. Past 60 distinct ${param} values a minute among new devices, route-wide, each new device solves a proof-of-work puzzle per page; devices known for identity.device.trustAfter${opts.issuer !== undefined ? ' and signed-in users' : ''} never see one. MONITOR until your pages or app answer puzzles (fetchWithChallenge); raise the limit to your traffic first.`,
      {
        id: `pages-${id}-new-devices`,
        ...where,
        key: ['route'],
        device: 'untrusted',
        ...(opts.issuer !== undefined ? { signedIn: false } : {}),
        count: 'distinct',
        distinct: `query:${param}`,
        limit: 60,
        window: '60s',
        action: 'challenge',
        ...puzzleMode,
      },
    )
    // One records budget per listing, however many position parameters it takes (a second
    // identical rule would count every request twice and refuse nothing more).
    const unbudgeted = paths.filter((p) => !budgeted.has(p))
    if (size === undefined || unbudgeted.length === 0) continue
    for (const p of unbudgeted) budgeted.add(p)
    const sized = { paths: unbudgeted, methods: ['GET'] }
    // A page without the size parameter costs 1. The budget is 60 of the document's default
    // pages: twice what paging alone gets, since re-reading pages counts here too (red team 15:
    // people looping over 8 pages of 50 crossed 30 pages' worth, 9 of 20,125 requests refused),
    // while a client asking for the largest pages still gets far fewer of them.
    const perPage = size.default !== undefined && size.default >= 1 ? size.default : 20
    rule(
      `Records read through ${size.name} per device: ${60 * perPage} a minute (60 pages of the default ${perPage}, re-reads included), so asking for the largest pages buys a scraper little more than paging does. A request without ${size.name} counts 1.`,
      {
        id: `records-${id}`,
        ...sized,
        key: ['device'],
        cost: `query:${size.name}`,
        limit: 60 * perPage,
        window: '60s',
      },
    )
    rule(
      `The same among clients without a device cookie, per client type on a network (an office's first page loads share it).`,
      {
        id: `records-${id}-cookieless`,
        ...sized,
        ...cookieless,
        cost: `query:${size.name}`,
        limit: 40 * perPage,
        window: '60s',
      },
    )
    if (bearerSession)
      rule(`Per token: ${60 * perPage} records a minute.`, {
        id: `records-${id}-per-token`,
        ...sized,
        key: ['session'],
        cost: `query:${size.name}`,
        limit: 60 * perPage,
        window: '60s',
      })
  }
  // Codes a client redeems or proves (vouchers, coupons, one-time codes): wrong ones counted
  // per client however it rotates IPs, as wrong reset codes are (red team 14: 1,000 guesses
  // at a 6-digit voucher reached the backend, 7 codes redeemed).
  const guessed = ops.filter((o) => guessableField(o) !== undefined)
  if (guessed.length > 0) {
    const where = {
      paths: unique(guessed.map((o) => o.pattern)),
      methods: unique(guessed.map((o) => o.method)),
      count: 'outcomes',
      outcomes: ['4xx'],
      window: '1h',
    }
    const fields = unique(guessed.map((o) => guessableField(o)!))
    if (bearerSession)
      rule(
        `Wrong ${fields.join('/')} codes per token (${list(where.paths)}): a code space is guessed a wrong answer at a time, from rotating IPs. Counted on the API's 4xx answers.`,
        { id: 'code-guesses-per-token', ...where, key: ['session'], limit: 10 },
      )
    if (opts.issuer !== undefined)
      rule("The same per signed-in account (the token's sub), whatever tokens it holds.", {
        id: 'code-guesses-per-account',
        ...where,
        key: ['account'],
        limit: 10,
      })
    rule('The same per device, whatever accounts and networks.', {
      id: 'code-guesses-per-device',
      ...where,
      key: ['device'],
      limit: 10,
    })
    rule('The same per network: an office shares it, so the limit is higher.', {
      id: 'code-guesses-per-network',
      ...where,
      key: ['ipPrefix'],
      limit: 30,
    })
  }
  // Key guessing, on the operations an API key opens (anyone without a proven key counts there).
  const keyed = unique(ops.filter((o) => o.security?.optional).map((o) => o.pattern))
  if (api.apiKeyHeader !== undefined && keyed.length > 0)
    rule(
      `Key guessing: wrong ${api.apiKeyHeader} keys counted route by route, whatever IPs they come from, sparing keys that have worked (\`apiKey: unproven\`): the rule holds guessers, never a working integration. Requests without a key count too: keep it on the routes keys open.`,
      {
        id: 'bad-keys-route',
        paths: keyed,
        key: ['route'],
        apiKey: 'unproven',
        count: 'outcomes',
        outcomes: [401, 403],
        limit: 50,
        window: '10m',
      },
    )
  rule('A global per-IP ceiling, generous enough for an office behind one NAT.', {
    id: 'ip-ceiling',
    key: ['ip'],
    limit: 1200,
    window: '60s',
    algorithm: 'gcra',
    burst: 200,
  })

  // Tokens: the operations the document secures, grouped by method and the scopes they need.
  const secured = ops.filter((o) => o.security !== undefined)
  const authRules: Obj[] = []
  if (opts.issuer !== undefined && secured.length > 0) {
    const groups = new Map<
      string,
      { method: string; scopes: readonly string[]; optional: boolean; paths: string[] }
    >()
    for (const o of secured) {
      const { scopes, optional = false } = o.security!
      const k = `${o.method} ${optional ? '?' : scopes.join(' ')}`
      const g = groups.get(k) ?? { method: o.method, scopes, optional, paths: [] }
      if (!g.paths.includes(o.pattern)) g.paths.push(o.pattern)
      groups.set(k, g)
    }
    const ids = new Set<string>()
    for (const g of groups.values()) {
      const base = g.optional
        ? 'token-optional'
        : g.scopes.length > 0
          ? `scope-${slug(g.scopes.join('-'))}`
          : 'signed-in'
      let id = `${base}-${g.method.toLowerCase()}`
      for (let n = 2; ids.has(id); n++) id = `${base}-${g.method.toLowerCase()}-${n}`
      ids.add(id)
      authRules.push({
        id,
        paths: g.paths,
        methods: [g.method],
        ...(g.optional
          ? { require: { authenticated: false } }
          : g.scopes.length > 0
            ? { require: { scopes: [...g.scopes] } }
            : {}),
      })
    }
  }
  if (opts.issuer !== undefined) {
    // Wherever a token is sent, it is checked — a junk `Bearer x` would otherwise be a new
    // session (`identity.session`) that turns off the rules for clients without one (red team
    // 14: 150 of 150 reads by a sweeper sending a new random token each time). Not on sign-in,
    // sign-up and reset: an app that still sends its expired token there must get in again.
    const except = unique([...signInPaths, ...signUpPaths, ...resetPaths])
    authRules.push({
      id: 'token-checked-everywhere',
      paths: ['/*'],
      ...(except.length > 0 ? { except } : {}),
      require: { authenticated: false },
    })
  }
  if (opts.issuer === undefined && secured.length > 0)
    notes.push(
      `the document secures ${secured.length} operation(s) but no token issuer was given: pass --issuer and --audience (and --jwks) to check tokens and scopes at the edge, or leave it to the backend knowingly`,
    )
  if (opts.issuer === undefined && bearerSession)
    notes.push(
      'tokens are not checked at the edge (no --issuer): an invented `Bearer x` counts as a client of its own, so the sweep and paging limits for clients without a cookie or token can be dodged by sending a new one each time; pass --issuer to refuse tokens that are not genuine',
    )
  notes.push(
    'contract.validate.unknownQuery: refuse answers 400 to query parameters the document does not declare (cache busters `_=…`, `utm_*`): declare those your clients send, or set it to allow',
  )
  for (const o of signIn)
    if (/^(login|user|identifier)$/i.test(accountField(o) ?? ''))
      notes.push(
        `${o.method} ${o.template} names the account in "${accountField(o)}": if your backend takes a handle or an e-mail there, each is a separate account to Bulwark, and a brute force gets one per-account budget for each form it knows (the per-device and per-network rules still count them together)`,
      )
  if (opts.issuer !== undefined && opts.jwksUri === undefined)
    notes.push(
      `auth.issuers[0].jwksUri is a guess (${jwksOf(opts.issuer)}): set it to your issuer's jwks_uri (its /.well-known/openid-configuration names it)`,
    )

  if (sweeps.size > 0 || listings.size > 0)
    notes.push(
      'clients without a cookie or token share the cookieless sweep and paging budgets per header set and network (an IPv4 address, an IPv6 /server.ipv6Prefix; 20 a minute): users of one app release behind one carrier NAT are one such client (red team 14: 78 of 120 reads refused). If your app calls anonymously, have it send a per-install header and add it to identity.fingerprint.headers (README "APIs without a browser")',
    )
  // What the user must know before trusting the file: the rules that only log, and the
  // state-changing operations nothing counts (bookings, redemptions: business init cannot judge).
  const monitorRules = rules.filter((r) => r.mode === 'monitor').map((r) => r.id as string)
  if (monitorRules.length > 0)
    notes.push(
      `${monitorRules.join(' and ')} ${monitorRules.length > 1 ? 'are' : 'is'} in monitor mode: out of the box, ${unique(monitorRules.map((r) => (r.startsWith('pages-') ? 'paging through whole listings' : r.startsWith('signups-') ? 'mass sign-up' : 'credential stuffing'))).join(', ')} from rotating IPs and headers ${monitorRules.length > 1 ? 'are' : 'is'} logged, not stopped. These rules ask new devices for a proof-of-work puzzle, which your pages or app must answer (fetchWithChallenge from bulwark/challenge): once it does, rerun init with --puzzles, or remove their \`mode: monitor\`${signUpPaths.length > 0 ? '. Until then every per-account and per-token limit (sweeps, codes) multiplies by the accounts a bot signs up' : ''}. Even enforced, a puzzle costs a bot that solves it CPU time (a fraction of a second an attempt), not a wall`,
    )
  const unlimited = ops
    .filter(
      (o) =>
        o.method !== 'GET' &&
        !rules.some(
          (r) =>
            Array.isArray(r.paths) &&
            (r.paths as string[]).includes(o.pattern) &&
            (!Array.isArray(r.methods) || (r.methods as string[]).includes(o.method)),
        ),
    )
    .map((o) => `${o.method} ${o.template}`)
  if (unlimited.length > 0)
    notes.push(
      `no limit counts ${unlimited.length} state-changing operation(s) but the global per-IP ceiling: ${unlimited.slice(0, 8).join(', ')}${unlimited.length > 8 ? ', …' : ''}. What they do is your business (bookings, redemptions, transfers): add limits per account and per device where a bot would repeat them (README "limits": count: outcomes for failed attempts, as the login rules do)`,
    )

  const noFakes = unique([...signInPaths, ...signUpPaths, ...resetPaths])
  const honeypots = honeypotsFor(api.prefix, ops)
  const contractPath = relative(outDir, resolve(opts.openapi)) || resolve(opts.openapi)
  const config: Obj = {
    version: 1,
    mode: opts.mode ?? 'enforce',
    ...(opts.port !== undefined ? { server: { port: opts.port } } : {}),
    upstreams: { api: { url: opts.upstream } },
    routes: [{ path: '/*', upstream: 'api' }],
    identity: {
      ...(account.length > 0 ? { account } : {}),
      ...(bearerSession ? { session: { header: 'authorization' } } : {}),
      ...(api.apiKeyHeader !== undefined ? { apiKey: { header: api.apiKeyHeader } } : {}),
      device: { secret: '${BULWARK_DEVICE_SECRET}' },
    },
    challenge: { secret: '${BULWARK_CHALLENGE_SECRET}' },
    limits: { headers: 'denied', rules },
    contract: {
      openapi:
        contractPath.startsWith('.') || contractPath.startsWith('/')
          ? contractPath
          : `./${contractPath}`,
      undocumented: 'block',
      validate: { unknownQuery: 'refuse', unknownFields: 'refuse', credentials: true },
    },
    ...(opts.origins?.length
      ? {
          cors: {
            rules: [
              {
                id: 'front-end',
                origins: [...opts.origins],
                methods: unique(ops.map((o) => o.method)),
                headers: ['content-type', 'authorization', 'bulwark-pow'],
                exposeHeaders: ['x-request-id'],
                credentials: true,
                maxAge: '10m',
              },
            ],
          },
        }
      : {}),
    ...(opts.issuer !== undefined
      ? {
          auth: {
            issuers: [
              {
                issuer: opts.issuer,
                audience: opts.audience ?? '',
                jwksUri: opts.jwksUri ?? jwksOf(opts.issuer),
              },
            ],
            rules: authRules,
          },
        }
      : {}),
    behavior: {
      halfLife: '10m',
      ...(noFakes.length > 0 ? { deceive: { except: noFakes, instead: 'throttle' } } : {}),
    },
    deception: {
      flagTtl: '1h',
      honeypots,
      headers: ['x-debug-mode'],
      canaries: {
        secret: '${BULWARK_CANARY_SECRET}',
        ...(signInPaths.length > 0 ? { detect: { bodyPaths: signInPaths } } : {}),
      },
    },
  }

  comments.push(
    [
      ['identity'],
      ' Who a request is: the account it names, and a signed cookie per browser or app (`device`).',
    ],
    [
      ['identity', 'device', 'secret'],
      ' 32+ characters, the same on every instance: openssl rand -base64 32',
    ],
    [
      ['challenge'],
      ' The proof-of-work puzzle a `challenge` action asks for (README "Challenges (proof of work)"): a browser page answers it with fetchWithChallenge from bulwark/challenge.',
    ],
    [
      ['limits'],
      ' Limits keyed on what a bot cannot rotate cheaply. RateLimit headers only on refusals.',
    ],
    [
      ['contract'],
      " The API's own contract: undocumented paths answered 404, tampered parameters and bodies refused with 400, at the edge. unknownQuery: refuse also refuses query parameters the document does not declare (`?limit=1&debug=1`): declare them, or set allow. unknownFields: refuse refuses body fields the request schema does not declare (mass assignment: a role field on a sign-up). credentials: true answers 401 where the document asks for a token or key and none is sent (whether it is valid stays the backend's, or the auth layer's).",
    ],
    [
      ['behavior'],
      ' Bot signals and a decaying risk score per client: log at 40, delay at 70, throttle 5m at 100, deceive 15m at 150, block 30m at 250 (the defaults). Business flows go here too, e.g.\n flows: [{ id: pay-needs-basket, paths: [/v1/payments], methods: [POST],\n          after: { paths: [/v1/basket], methods: [POST] }, within: 30m, by: [session, account] }]\n See docs/behavior.md. On sign-in, sign-up and password reset a deceive is a 429: a person is never handed a fake session.',
    ],
    [
      ['deception'],
      ' Traps no person touches: paths the API does not have and scanners try, and a header only tools send. A hit gets a realistic fake after a delay and flags the client for an hour (docs/deception.md). Canary credentials planted in the fakes are recognised wherever they come back (at sign-in too).',
    ],
  )
  if (opts.issuer !== undefined)
    comments.push([
      ['auth'],
      " Tokens checked at the edge: the operations the document secures need a valid token from this issuer, with the scopes their `security` lists (a token is optional where an API key will also do, but a bad one is refused); a bad token or a missing scope never reaches the backend. The token's sub becomes the account limits count on.",
    ])
  if (opts.origins?.length)
    comments.push([
      ['cors'],
      ' Browsers on these origins may call the API with cookies; nobody else may read its answers.',
    ])
  else
    notes.push(
      "no CORS block: browsers on other origins cannot read the API's answers unless the backend itself allows them; pass --origin https://app.example for a browser front end",
    )
  notes.push(
    `set ${INIT_SECRETS.join(', ')} before serve (openssl rand -base64 32 each, the same on every instance)`,
  )

  const doc = new Document(config, { aliasDuplicateObjects: false })
  doc.commentBefore = [
    ` Written by \`bulwark init\` from ${relative(process.cwd(), resolve(opts.openapi)) || opts.openapi}: ${ops.length} operations;`,
    ` sign-in: ${list(signInPaths)}; sign-up: ${list(signUpPaths)}; password reset: ${list(resetPaths)}.`,
    ` mode: ${opts.mode ?? 'enforce'}. Check it (bulwark check -c FILE), run \`bulwark replay\` on real access logs`,
    ' before enforcing in production, and tune limits to your traffic (README "Configuration reference").',
  ].join('\n')
  for (const [path, text] of comments) {
    const key = keyNode(doc, path)
    if (key) key.commentBefore = wrap(text)
  }
  const seq = doc.getIn(['limits', 'rules'], true)
  if (isSeq(seq))
    seq.items.forEach((item, i) => {
      ;(item as YAMLMap).commentBefore = wrap(` ${ruleComments[i]}`)
      flowLists(item)
    })
  for (const p of [
    ['identity', 'account'],
    ['deception', 'honeypots'],
    ['cors', 'rules'],
    ['auth', 'rules'],
  ]) {
    const s = doc.getIn(p, true)
    if (isSeq(s)) s.items.forEach(flowLists)
  }
  // One line each: an auth rule's `require`, a honeypot's `delay`.
  for (const [list, key] of [
    [['auth', 'rules'], 'require'],
    [['deception', 'honeypots'], 'delay'],
  ] as const) {
    const items = doc.getIn(list, true)
    if (!isSeq(items)) continue
    for (const item of items.items) {
      const pair = isMap(item)
        ? item.items.find((p) => isScalar(p.key) && p.key.value === key)
        : undefined
      if (pair && isMap(pair.value)) pair.value.flow = true
    }
  }
  for (const p of [['contract', 'validate'], ['behavior', 'deceive'], ['routes']]) {
    const n = doc.getIn(p, true)
    if (isMap(n)) flowLists(n)
    if (isSeq(n)) n.items.forEach((x) => isMap(x) && ((x as YAMLMap).flow = true))
  }
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false })
  return {
    text,
    notes,
    found: {
      operations: ops.length,
      signIn: signInPaths,
      signUp: signUpPaths,
      reset: resetPaths,
      sweeps: sweeps.size,
      monitorRules,
      unlimited,
      listings: listings.size,
      authRules: authRules.length,
    },
  }
}

/** Statuses a failed sign-in gets: the 401/403 the operation documents, else both. */
function failureStatuses(ops: readonly ApiOperation[]): number[] {
  const documented = new Set(ops.flatMap((o) => o.statuses))
  const out = [401, 403].filter((s) => documented.has(String(s)))
  return out.length > 0 ? out : [401, 403]
}

/**
 * Honeypots where scanners look and the API has nothing: an admin console and a config
 * endpoint under the API's prefix, plus `/.env` and `/.git/config` at the root — each only if
 * no documented path matches it (a trap on a real route would fake a real answer).
 */
function honeypotsFor(prefix: string, ops: readonly ApiOperation[]): Obj[] {
  // Matched as the gateway will match them: `/v1/admin/{section}` has `/v1/admin/dashboard`.
  const documented = compileRoutes(
    ops.map((o) => ({ paths: [o.pattern], value: true })),
    true,
  )
  const below = ops.map((o) => o.pattern.toLowerCase())
  const free = (path: string) =>
    documented.best('GET', path) === undefined && !below.some((t) => t.startsWith(`${path}/`))
  const candidates: Obj[] = [
    {
      id: 'admin-console',
      paths: [`${prefix}/admin/dashboard`],
      fake: 'admin-login',
      delay: { min: '1s', max: '3s' },
    },
    {
      id: 'config-update',
      paths: [`${prefix}/system/config_update`],
      fake: 'config-update',
      delay: { min: '2s', max: '5s' },
    },
    {
      id: 'internal-debug',
      paths: [`${prefix}/internal/debug`],
      fake: 'unauthorized',
      delay: { min: '1s', max: '3s' },
    },
    { id: 'env', paths: ['/.env'], fake: 'env', delay: '1500ms' },
    {
      id: 'git-config',
      paths: ['/.git/config'],
      body: GIT_CONFIG,
      contentType: 'text/plain',
      delay: '1500ms',
    },
  ]
  return candidates.filter((h) => free((h.paths as string[])[0]!.toLowerCase()))
}

/** The key node of the map entry at `path`, which a comment before the entry belongs to. */
function keyNode(doc: Document, path: readonly (string | number)[]): Scalar | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)
  if (!isMap(parent)) return undefined
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1))
  return pair && isScalar(pair.key) ? pair.key : undefined
}

/** A comment's lines wrapped at 100 columns (each line of a YAML comment starts with `#`). */
function wrap(text: string): string {
  const out: string[] = []
  for (const line of text.split('\n')) {
    let rest = line
    while (rest.length > 98) {
      const cut = rest.lastIndexOf(' ', 98)
      if (cut <= 1) break
      out.push(rest.slice(0, cut))
      rest = ` ${rest.slice(cut + 1)}`
    }
    out.push(rest)
  }
  return out.join('\n')
}

/** What a scanner expects at `/.git/config`: a repository's config, with a canary token in it. */
const GIT_CONFIG = [
  '[core]',
  '\trepositoryformatversion = 0',
  '\tfilemode = true',
  '\tbare = false',
  '\tlogallrefupdates = true',
  '[remote "origin"]',
  '\turl = https://deploy:{{canary:api-key}}@git.internal/platform/api.git',
  '\tfetch = +refs/heads/*:refs/remotes/origin/*',
  '[branch "main"]',
  '\tremote = origin',
  '\tmerge = refs/heads/main',
  '',
].join('\n')

/** The usual JWKS location of an issuer. */
function jwksOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)]
}

function list(xs: readonly string[]): string {
  return xs.length > 0 ? xs.join(', ') : 'none found'
}

function slug(s: string): string {
  return (
    s
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase() || 'id'
  )
}
