/**
 * Checks a schema cannot make: parts of a config that are valid one by one but, put together,
 * never do what they say. A limit that counts `param:accountId` where no path names
 * `:accountId` counts nothing (a sweep goes through); a rule path that matches no documented
 * operation is usually a typo that silently turns the rule off; a honeypot on a documented
 * route traps real users; an auth rule on a mistyped path leaves the real one open. Errors stop the config (as a schema error would, on reload too);
 * warnings are printed by `bulwark check` and logged when the config is loaded.
 * @see ../../README.md#configuration-reference
 */
import type { ConfigIssue } from '../errors.js'
import type { Documented } from '../layers/contract/compile.js'
import { compileRoutes } from '../request/routes.js'
import type { Config } from './schema.js'

export interface LintResult {
  readonly errors: readonly ConfigIssue[]
  readonly warnings: readonly string[]
}

const PARAM = /:([A-Za-z0-9_]+)/g

/**
 * @param contract what the contract's documents describe, when there is a contract.
 * @example
 * lintConfig(config, undefined, 'bulwark.yaml').errors // [{ path: 'limits.rules[1].distinct', … }]
 */
export function lintConfig(
  config: Config,
  contract: Documented | undefined,
  file = 'config',
): LintResult {
  const errors: ConfigIssue[] = []
  const warnings: string[] = []
  const fold = config.server.pathCase !== 'sensitive'
  const routed = config.routes.map((r) => r.path)
  const documented = contract?.patterns

  // A route parameter a limit keys on or counts must be named by some path it can come from:
  // the rule's own paths, a gateway route, or a documented operation.
  config.limits?.rules.forEach((rule, i) => {
    const declared = paramNames([...rule.paths, ...routed])
    for (const name of contract?.params ?? []) declared.add(name)
    const refs: [string, string][] = rule.key.map((k, j) => [k, `key[${j}]`])
    if (rule.distinct !== undefined) refs.push([rule.distinct, 'distinct'])
    for (const [ref, where] of refs) {
      if (!ref.startsWith('param:')) continue
      const name = ref.slice('param:'.length)
      if (declared.has(name)) continue
      errors.push({
        file,
        path: `limits.rules[${i}].${where}`,
        message: `${ref} is never set: no path of this rule, no route${documented ? ' and no documented operation' : ''} names :${name}, so the rule counts nothing`,
        hint: declared.size
          ? `parameters the paths name: ${[...declared].map((n) => `param:${n}`).join(', ')}`
          : `name it in the rule's paths, e.g. /items/:${name}`,
      })
    }
  })

  // The device facet and filter read a cookie only `identity.device` issues and checks.
  const device = config.identity.device
  const noDevice = (path: string, what: string) =>
    errors.push({
      file,
      path,
      message: `${what} needs the device cookie, and identity.device is not configured: the rule would never apply`,
      hint: 'add identity: { device: { secret: ${BULWARK_DEVICE_SECRET} } } (see README, "Device cookie")',
    })
  if (device === undefined) {
    config.limits?.rules.forEach((rule, i) => {
      if (rule.device !== undefined) noDevice(`limits.rules[${i}].device`, `device: ${rule.device}`)
      rule.key.forEach((k, j) => {
        if (k === 'device') noDevice(`limits.rules[${i}].key[${j}]`, 'the device facet')
      })
      if (rule.distinct === 'device') noDevice(`limits.rules[${i}].distinct`, 'the device facet')
    })
    config.behavior?.flows.forEach((f, i) =>
      f.by.forEach((b, j) => {
        if (b === 'device') noDevice(`behavior.flows[${i}].by[${j}]`, 'the device facet')
      }),
    )
  } else if (device.secret === undefined) {
    warnings.push(
      'identity.device.secret is not set: device cookies are signed with a key made by this process, so every client is a new device after a restart and on every other instance (set a secret of 32+ characters, the same everywhere)',
    )
  }

  // The session and API-key facets read a default cookie and header when `identity` does not
  // name them: a rule on them silently counts nothing when the API uses other names (red team:
  // a flow `by: [session]` that saw no first step, so every checkout was a violation).
  const defaulted = new Map<string, string>()
  const uses = (facet: string, path: string) => {
    if (facet === 'session' && !config.identity.session)
      defaulted.set(
        path,
        'the session facet reads the cookie "session" (identity.session is not configured)',
      )
    if (facet === 'apiKey' && !config.identity.apiKey)
      defaulted.set(
        path,
        'the apiKey facet reads the header "x-api-key" (identity.apiKey is not configured)',
      )
  }
  config.limits?.rules.forEach((rule, i) => {
    rule.key.forEach((k, j) => uses(k, `limits.rules[${i}].key[${j}]`))
    if (rule.distinct !== undefined) uses(rule.distinct, `limits.rules[${i}].distinct`)
  })
  config.behavior?.flows.forEach((f, i) =>
    f.by.forEach((b, j) => uses(b, `behavior.flows[${i}].by[${j}]`)),
  )
  for (const [path, what] of defaulted)
    warnings.push(
      `${path}: ${what}; if your API names it otherwise, set it there${path.startsWith('behavior.flows') ? ', or no first step is ever seen and every guarded request is a violation' : ', or the rule counts nothing'}`,
    )

  // The account facet comes from identity.account (a body field, a header) or a verified token.
  if (config.identity.account.length === 0 && !config.auth?.issuers.length)
    config.limits?.rules.forEach((rule, i) => {
      const refs: [string, string][] = rule.key.map((k, j) => [k, `key[${j}]`])
      if (rule.distinct !== undefined) refs.push([rule.distinct, 'distinct'])
      for (const [ref, where] of refs)
        if (ref === 'account')
          warnings.push(
            `limits.rules[${i}].${where}: the account facet has no source (identity.account is not configured and no auth issuer verifies tokens), so the rule counts nothing; add identity: { account: [{ body: username, paths: [/login] }] }`,
          )
    })

  // `signedIn` asks whether the auth layer verified a token: without one, it never did.
  if (!config.auth?.issuers.length)
    config.limits?.rules.forEach((rule, i) => {
      if (rule.signedIn !== undefined)
        errors.push({
          file,
          path: `limits.rules[${i}].signedIn`,
          message: `signedIn: ${rule.signedIn} needs tokens the auth layer verifies, and auth.issuers is not configured: no request is ever signed in`,
          hint: 'add an auth block with an issuer and a rule covering these paths (see docs/auth.md)',
        })
    })

  // `signedIn` reads a token only where an auth rule runs: elsewhere no request is signed in.
  const auth = config.auth
  if (auth?.issuers.length && config.limits?.rules.some((r) => r.signedIn !== undefined)) {
    const covers = authCoverage(auth.rules, fold)
    config.limits?.rules.forEach((rule, i) => {
      if (rule.signedIn === undefined) return
      const methods = rule.methods?.length ? rule.methods : ['GET', 'POST']
      const open = (rule.paths.length ? rule.paths : ['/*']).filter((p) =>
        methods.some((m) => !covers(m, sample(p, fold))),
      )
      if (open.length)
        warnings.push(
          `limits.rules[${i}].signedIn: no auth rule covers ${open.join(', ')}${rule.methods?.length ? ` for ${methods.join(', ')}` : ''}, so no token is checked there and ${rule.signedIn ? 'the rule counts nothing' : 'signed-in users are counted too'} (add the paths to an auth rule; require: { authenticated: false } makes a token optional)`,
        )
    })
  }

  // `device: unknown` asks whether the request's account has used the device before.
  if (config.identity.account.length === 0)
    config.limits?.rules.forEach((rule, i) => {
      if (rule.device === 'unknown')
        errors.push({
          file,
          path: `limits.rules[${i}].device`,
          message:
            'device: unknown needs the account facet, and identity.account is not configured: no device could ever be known to an account',
          hint: 'add identity: { account: [{ body: username, paths: [/login] }] } (see README, "identity")',
        })
    })

  // `challenge` asks for proof of work only when `challenge:` says how; otherwise it is a 401
  // nobody can pass, which is a block by another name.
  const challengers = [
    ...(config.limits?.rules ?? []).flatMap((r, i) =>
      r.action === 'challenge' ? [`limits.rules[${i}]`] : [],
    ),
    ...(config.behavior?.thresholds ?? []).flatMap((t, i) =>
      t.action === 'challenge' ? [`behavior.thresholds[${i}]`] : [],
    ),
    ...(config.behavior?.flows ?? []).flatMap((f, i) =>
      f.action === 'challenge' ? [`behavior.flows[${i}]`] : [],
    ),
  ]
  if (config.challenge === undefined && challengers.length)
    warnings.push(
      `${challengers.join(', ')} ${challengers.length > 1 ? 'answer' : 'answers'} with action challenge, and no challenge: block is configured: the 401 asks for nothing a client can do, so it blocks (add challenge: {} for a proof-of-work puzzle; see README, "Challenges")`,
    )
  // A page on another origin sends the answer in a header its CORS preflight must allow.
  const powHeader = config.challenge?.header
  config.cors?.rules.forEach((r, i) => {
    if (powHeader === undefined || r.origins.length === 0) return
    if (r.headers.some((h) => h === '*' || h.toLowerCase() === powHeader)) return
    warnings.push(
      `cors.rules[${i}].headers does not list ${JSON.stringify(powHeader)}: pages on its origins cannot send a proof-of-work answer (add it to headers)`,
    )
  })
  if (config.challenge !== undefined && config.challenge.secret === undefined)
    warnings.push(
      'challenge.secret is not set: puzzles are signed with a key made by this process, so one handed out by another instance (or before a restart) cannot be answered (set a secret of 32+ characters, the same everywhere)',
    )

  // A fake success is shaped like the route's documented one only where the document says what
  // that looks like: elsewhere a bot comparing it with a real answer tells it at once.
  let unshaped = contract?.unshaped ?? []
  const limitsDeceive = config.limits?.rules.some((r) => r.action === 'deceive') ?? false
  const deceives = limitsDeceive || config.behavior?.thresholds.some((t) => t.action === 'deceive')
  // Behaviour never fakes on the routes `deceive.except` names (sign-in): no shape needed there.
  const except = config.behavior?.deceive.except ?? []
  if (!limitsDeceive && except.length > 0) {
    const spared = compileRoutes([{ paths: except, value: true }], fold)
    unshaped = unshaped.filter((op) => {
      const [method, template] = op.split(' ') as [string, string]
      const path = template.replace(/\{[^}]*\}/g, '1')
      return spared.all(method, fold ? path.toLowerCase() : path).length === 0
    })
  }
  if (deceives && unshaped.length > 0)
    warnings.push(
      `${unshaped.length} documented operation(s) describe no JSON success response (${unshaped.slice(0, 3).join(', ')}${unshaped.length > 3 ? ', …' : ''}): a deceive there answers with the generic {"success":true} fake, which a bot comparing it with a real answer tells at once (add the success response's content schema; see docs/deception.md#fakes-shaped-like-your-api)`,
    )

  // A fake session is the worst answer for a person the score misjudged (one on a bot's office
  // IP or browser build): where the config reads sign-ins, a refusal they can retry is better.
  if (config.behavior?.thresholds.some((t) => t.action === 'deceive')) {
    const except = config.behavior.deceive.except
    const spared = except.length ? compileRoutes([{ paths: except, value: true }], fold) : undefined
    const signIn = config.identity.account.flatMap((a) => ('body' in a ? a.paths : []))
    const faked = signIn.filter((p) => !spared?.all('POST', sample(p, fold)).length)
    if (faked.length)
      warnings.push(
        `behavior.thresholds deceive, and ${faked.join(', ')} (where identity.account reads sign-ins) ${faked.length > 1 ? 'are' : 'is'} not in behavior.deceive.except: a person misjudged by risk shared with bots is handed a fake session there (add ${faked.length > 1 ? 'them' : 'it'} to behavior.deceive.except, which answers with a throttle instead; see docs/behavior.md#thresholds)`,
      )
  }

  // An operation the OpenAPI document secures that no auth rule covers is forwarded with no
  // token check: a route left out of the rules by mistake, the commonest way to leave one open.
  const secured = contract?.secured ?? []
  if (secured.length > 0) {
    const name = (o: (typeof secured)[number]) => `${o.method} ${o.template}`
    if (config.auth === undefined)
      warnings.push(
        `the OpenAPI document secures ${secured.length} operation(s) (${secured.slice(0, 3).map(name).join(', ')}${secured.length > 3 ? ', …' : ''}) and no auth block is configured: Bulwark checks no token on them (add auth rules, or leave the check to the backend knowingly)`,
      )
    else {
      const covers = authCoverage(config.auth.rules, fold)
      const open = secured.filter((o) => !covers(o.method, sample(o.pattern, fold)))
      if (open.length)
        warnings.push(
          `${open.length} operation(s) the OpenAPI document secures match no auth rule (or only rules whose except: leaves them out) and are forwarded without a token check: ${open.slice(0, 5).map(name).join(', ')}${open.length > 5 ? ', …' : ''} (add them to an auth rule's paths)`,
        )
    }
  }

  if (documented !== undefined && documented.length > 0) {
    const doc = compileRoutes(
      documented.map((p) => ({ paths: [p], value: true })),
      fold,
    )
    const described = (pattern: string) => matchesDocumented(pattern, doc, documented, fold)
    // Paths the contract exempts are undocumented on purpose: rules on them are not typos.
    const exempt = config.contract?.exempt.length
      ? compileRoutes([{ paths: config.contract.exempt, value: true }], fold)
      : undefined
    const exempted = (pattern: string) => exempt?.best('GET', sample(pattern, fold)) !== undefined
    const check = (where: string, paths: readonly string[], effect = 'turns the rule off') =>
      paths.forEach((p, j) => {
        if (!described(p) && !exempted(p))
          warnings.push(
            `${where}[${j}] ${JSON.stringify(p)} matches no documented operation: a typo ${effect} (documented paths include ${listed(contract!.templates)})`,
          )
      })
    // A route of the gateway's own that the contract does not describe is refused (and with
    // `flag`, its callers flagged as bots): a health check, a legacy path.
    const refusing = config.contract?.undocumented
    if (refusing !== undefined && refusing !== 'monitor')
      config.routes.forEach((r, i) => {
        if (r.path.includes('*') || described(r.path) || exempted(r.path)) return
        warnings.push(
          `routes[${i}].path ${JSON.stringify(r.path)} is not in the contract: with contract.undocumented: ${refusing} its requests are answered 404${refusing === 'flag' ? ' and their clients flagged as bots' : ''} (document it, or add it to contract.exempt)`,
        )
      })
    config.limits?.rules.forEach((r, i) => check(`limits.rules[${i}].paths`, r.paths))
    // An auth rule whose path is a typo leaves the real route without a token check.
    config.auth?.rules.forEach((r, i) => check(`auth.rules[${i}].paths`, r.paths))
    config.behavior?.flows.forEach((f, i) => {
      check(`behavior.flows[${i}].paths`, f.paths)
      check(
        `behavior.flows[${i}].after.paths`,
        f.after.paths,
        `means the first step is never seen: every request to the flow's paths breaks it${f.action === 'block' ? ' and is refused' : ''}`,
      )
    })
    config.behavior?.velocity.forEach((v, i) => check(`behavior.velocity[${i}].paths`, v.paths))
    config.deception?.honeypots.forEach((h, i) =>
      h.paths.forEach((p, j) => {
        if (!p.endsWith('/*') && described(p))
          warnings.push(
            `deception.honeypots[${i}].paths[${j}] ${JSON.stringify(p)} is a documented operation: real clients will call it and be flagged as bots`,
          )
      }),
    )
  }
  return { errors, warnings }
}

function listed(templates: readonly string[]): string {
  return templates.slice(0, 3).join(', ') + (templates.length > 3 ? ', …' : '')
}

function paramNames(patterns: readonly string[]): Set<string> {
  const names = new Set<string>()
  for (const p of patterns) for (const m of p.matchAll(PARAM)) names.add(m[1]!)
  return names
}

/** A request path that a pattern matches (`:id` → `1`), without a trailing `/*`. */
function sample(pattern: string, fold: boolean): string {
  const path = pattern.endsWith('/*') ? pattern.slice(0, -2) || '/' : pattern
  const s = path.replace(/:[A-Za-z0-9_]+/g, '1')
  return fold ? s.toLowerCase() : s
}

function matchesDocumented(
  pattern: string,
  doc: ReturnType<typeof compileRoutes<boolean>>,
  documented: readonly string[],
  fold: boolean,
): boolean {
  const here = sample(pattern, fold)
  if (doc.best('GET', here) !== undefined) return true
  if (!pattern.endsWith('/*')) return false
  // A prefix rule covers a documented operation below it.
  const below = here === '/' ? '/' : `${here}/`
  return documented.some((d) => sample(d, fold).startsWith(below))
}

/** Whether an auth rule runs on `method path`: one matches its paths and its `except` does not. */
function authCoverage(
  rules: readonly {
    paths: readonly string[]
    except: readonly string[]
    methods?: readonly string[]
  }[],
  fold: boolean,
): (method: string, path: string) => boolean {
  const matcher = compileRoutes(
    rules.map((r, i) => ({
      paths: r.paths.length ? r.paths : ['/*'],
      methods: r.methods,
      value: i,
    })),
    fold,
  )
  const except = rules.map((r) =>
    r.except.length ? compileRoutes([{ paths: r.except, value: true }], fold) : undefined,
  )
  return (method, path) =>
    matcher.all(method, path).some((i) => except[i]?.best(method, path) === undefined)
}
