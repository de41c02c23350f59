import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { deepFreeze } from '../../src/config/freeze.js'
import { loadConfig, parseConfig, withLines } from '../../src/config/load.js'
import { duration, size } from '../../src/config/units.js'
import { ConfigError, type BulwarkErrorCode } from '../../src/errors.js'

// A small schema shaped like Bulwark's: strict objects, a record, arrays of rules, a
// discriminated union, enums, a plain union, durations, sizes, defaults and custom checks.
const IpKey = z.strictObject({ type: z.literal('ip'), prefix: z.int().min(0).max(128).optional() })
const HeaderKey = z.strictObject({ type: z.literal('header'), name: z.string().min(1) })
const Rule = z
  .strictObject({
    name: z.string().min(1),
    limit: z.int().positive(),
    window: duration,
    key: z.discriminatedUnion('type', [IpKey, HeaderKey]).default({ type: 'ip' }),
    methods: z
      .array(z.enum(['GET', 'HEAD', 'POST']))
      .min(1)
      .optional(),
    sample: z.number().gt(0).lt(1).optional(),
  })
  .refine((r) => r.window >= 1000, { message: 'must be at least 1s', path: ['window'] })
const Schema = z.strictObject({
  mode: z.enum(['enforce', 'monitor']).default('enforce'),
  listen: z
    .strictObject({
      port: z.int().min(1).max(65535).default(8080),
      host: z.string().default('127.0.0.1'),
    })
    .prefault({}),
  upstreams: z.record(
    z.string(),
    z.strictObject({ url: z.url(), timeout: duration.default(30_000) }),
  ),
  limits: z
    .strictObject({
      maxBody: size.default(1024 * 1024),
      rules: z
        .array(Rule)
        .default([])
        .superRefine((rules, ctx) => {
          rules.forEach((r, i) => {
            if (rules.findIndex((s) => s.name === r.name) < i) {
              const message = `duplicate rule name "${r.name}"`
              ctx.addIssue({ code: 'custom', message, path: [i, 'name'] })
            }
          })
        }),
    })
    .prefault({}),
  tags: z.union([z.string(), z.array(z.string())]).optional(),
  /** A string or an object (as `cost:` is): an object's own complaints, not the string's. */
  cost: z
    .union([z.string(), z.strictObject({ field: z.string(), paths: z.array(z.string()) })])
    .optional(),
})

/** Lines joined, so each test's line numbers can be read off the source. */
const yaml = (...lines: string[]) => lines.join('\n') + '\n'

const parse = (text: string, env: NodeJS.ProcessEnv = {}) =>
  parseConfig(text, 'bulwark.yaml', Schema, env)

function fails(text: string, code: BulwarkErrorCode, message: string, env = {}) {
  expect(() => parse(text, env)).toThrow(expect.objectContaining({ code, message }))
}

describe('parseConfig', () => {
  test('applies defaults and units', () => {
    const text = yaml(
      'upstreams:',
      '  shop: { url: "http://127.0.0.1:3001" }',
      'limits:',
      '  maxBody: 64kb',
      '  rules:',
      '    - { name: login, limit: 5, window: 1.5s }',
    )
    expect(parse(text)).toEqual({
      mode: 'enforce',
      listen: { port: 8080, host: '127.0.0.1' },
      upstreams: { shop: { url: 'http://127.0.0.1:3001', timeout: 30_000 } },
      limits: {
        maxBody: 65_536,
        rules: [{ name: 'login', limit: 5, window: 1500, key: { type: 'ip' } }],
      },
    })
  })

  test('returns a deep-frozen value', () => {
    const config = parse(yaml('upstreams:', '  shop: { url: "http://x" }', 'tags: [a]'))
    expect(Object.isFrozen(config.upstreams.shop)).toBe(true)
    expect(() => {
      config.listen.port = 1
    }).toThrow(TypeError)
    expect(() => (config.tags as string[]).push('b')).toThrow(TypeError)
    expect(() => {
      config.limits.rules = []
    }).toThrow(TypeError)
  })

  test('deepFreeze freezes plain objects and arrays only', () => {
    const pattern = /a/g
    const cycle: Record<string, unknown> = { list: [{ n: 1 }], pattern }
    cycle.self = cycle
    const top = Object.freeze({ inner: { n: 1 } })
    expect(deepFreeze(cycle)).toBe(cycle)
    expect(Object.isFrozen((cycle.list as object[])[0])).toBe(true)
    expect(Object.isFrozen(pattern)).toBe(false)
    expect(pattern.exec('aa')?.index).toBe(0)
    expect(Object.isFrozen(deepFreeze(top).inner)).toBe(true)
  })

  test('follows anchors, aliases and merge keys', () => {
    const text = yaml(
      'upstreams:',
      '  a: &base { url: "http://a", timeout: 5s }',
      '  b: *base',
      '  c:',
      '    <<: *base',
      '    url: "http://c"',
    )
    expect(parse(text).upstreams).toEqual({
      a: { url: 'http://a', timeout: 5000 },
      b: { url: 'http://a', timeout: 5000 },
      c: { url: 'http://c', timeout: 5000 },
    })
  })
})

describe('validation messages', () => {
  test.each<[string, string[], string]>([
    [
      'a number below its minimum',
      [
        'limits:',
        '  rules:',
        '    - limit: -1',
        '      name: a',
        '      window: 1m',
        'upstreams: {}',
      ],
      'bulwark.yaml:3 limits.rules[0].limit: expected a positive integer, got -1',
    ],
    [
      'a number above its maximum',
      ['upstreams: {}', 'listen:', '  port: 70000'],
      'bulwark.yaml:3 listen.port: expected an integer <= 65535, got 70000',
    ],
    [
      'a fraction where an integer goes',
      ['upstreams: {}', 'listen: { port: 80.5 }'],
      'bulwark.yaml:2 listen.port: expected an integer, got 80.5',
    ],
    [
      'a string where an integer goes',
      ['upstreams: {}', 'listen: { port: "80" }'],
      'bulwark.yaml:2 listen.port: expected an integer, got "80"',
    ],
    [
      'exclusive bounds on a number',
      ['upstreams: {}', 'limits:', '  rules: [{ name: a, limit: 1, window: 1s, sample: 1 }]'],
      'bulwark.yaml:3 limits.rules[0].sample: expected a number < 1, got 1',
    ],
    [
      'an enum value, with a guess',
      ['upstreams: {}', 'mode: monitoring'],
      'bulwark.yaml:2 mode: expected one of "enforce" | "monitor", got "monitoring" (did you mean "monitor"?)',
    ],
    [
      'an enum value, nothing close',
      ['upstreams: {}', 'mode: strict'],
      'bulwark.yaml:2 mode: expected one of "enforce" | "monitor", got "strict"',
    ],
    [
      'a missing key, on its parent',
      ['upstreams: {}', 'limits:', '  rules:', '    - name: a', '      window: 1m'],
      'bulwark.yaml:4 limits.rules[0].limit: is required',
    ],
    ['a missing top-level key', ['mode: monitor'], 'bulwark.yaml:1 upstreams: is required'],
    [
      'a number where a string goes',
      ['upstreams: {}', 'limits:', '  rules: [{ name: 42, limit: 1, window: 1s }]'],
      'bulwark.yaml:3 limits.rules[0].name: expected a string, got 42 (quote the value to keep it a string)',
    ],
    [
      'null where an object goes',
      ['upstreams: {}', 'listen:'],
      'bulwark.yaml:2 listen: expected an object, got null',
    ],
    [
      'an object where a list goes, on its key',
      ['upstreams: {}', 'limits:', '  rules:', '    name: a'],
      'bulwark.yaml:3 limits.rules: expected a list, got an object',
    ],
    [
      'an empty string',
      ['upstreams: {}', 'limits:', '  rules: [{ name: "", limit: 1, window: 1s }]'],
      'bulwark.yaml:3 limits.rules[0].name: expected a non-empty string, got ""',
    ],
    [
      'an empty list',
      ['upstreams: {}', 'limits:', '  rules: [{ name: a, limit: 1, window: 1s, methods: [] }]'],
      'bulwark.yaml:3 limits.rules[0].methods: expected a non-empty list, got an empty list',
    ],
    [
      'a string format',
      ['upstreams:', '  shop:', '    url: shop.internal'],
      'bulwark.yaml:3 upstreams.shop.url: expected a URL, got "shop.internal"',
    ],
    [
      'a key that is not a plain word',
      ['upstreams:', '  shop.eu: { url: "http://x", timeout: soon }'],
      'bulwark.yaml:2 upstreams["shop.eu"].timeout: expected a duration like "60s", got "soon"',
    ],
    [
      'a duration',
      ['upstreams: {}', 'limits:', '  rules:', '    - { name: a, limit: 1, window: 1 minute }'],
      'bulwark.yaml:4 limits.rules[0].window: expected a duration like "60s", got "1 minute"',
    ],
    [
      'a size',
      ['upstreams: {}', 'limits:', '  maxBody: lots'],
      'bulwark.yaml:3 limits.maxBody: expected a size like "1mb", got "lots"',
    ],
    [
      'a message from .refine',
      ['upstreams: {}', 'limits:', '  rules:', '    - { name: a, limit: 1, window: 10ms }'],
      'bulwark.yaml:4 limits.rules[0].window: must be at least 1s',
    ],
    [
      'a message from .superRefine',
      [
        'upstreams: {}',
        'limits:',
        '  rules:',
        '    - { name: a, limit: 1, window: 1s }',
        '    - { name: a, limit: 2, window: 1s }',
      ],
      'bulwark.yaml:5 limits.rules[1].name: duplicate rule name "a"',
    ],
    [
      'a union that takes none of the types',
      ['upstreams: {}', 'tags: 42'],
      'bulwark.yaml:2 tags: expected a string or a list, got 42',
    ],
    [
      'a union branch that took the type',
      ['upstreams: {}', 'tags:', '  - a', '  - true'],
      'bulwark.yaml:4 tags[1]: expected a string, got true (quote the value to keep it a string)',
    ],
    [
      'a union branch that took an object with an unknown key',
      ['upstreams: {}', 'cost: { field: ops, path: [/x] }'],
      'bulwark.yaml:2 cost.paths: is required\n' +
        'bulwark.yaml:2 cost: unknown key "path" (did you mean "paths"?)',
    ],
    [
      'a discriminator, with a guess',
      [
        'upstreams: {}',
        'limits:',
        '  rules:',
        '    - name: a',
        '      limit: 1',
        '      window: 1s',
        '      key: { type: headers }',
      ],
      'bulwark.yaml:7 limits.rules[0].key.type: expected one of "ip" | "header", got "headers" (did you mean "header"?)',
    ],
    [
      'a missing discriminator',
      [
        'upstreams: {}',
        'limits:',
        '  rules:',
        '    - name: a',
        '      limit: 1',
        '      window: 1s',
        '      key: { name: x-user }',
      ],
      'bulwark.yaml:7 limits.rules[0].key.type: is required (one of "ip" | "header")',
    ],
    [
      'a config that is not an object',
      ['just words'],
      'bulwark.yaml:1 expected an object, got "just words"',
    ],
  ])('%s', (_, lines, message) => fails(yaml(...lines), 'ERR_CONFIG_INVALID', message))

  test('an empty file', () => {
    const message = 'bulwark.yaml expected a config object, got an empty file'
    fails('', 'ERR_CONFIG_INVALID', message)
    fails('# nothing yet\n', 'ERR_CONFIG_INVALID', message)
  })
})

describe('unknown keys', () => {
  test.each<[string, string[], string]>([
    [
      'at the top, by distance',
      ['upstreams: {}', 'listne: {}'],
      'bulwark.yaml:2 unknown key "listne" (did you mean "listen"?)',
    ],
    [
      'in a list item',
      [
        'upstreams: {}',
        'limits:',
        '  rules:',
        '    - name: a',
        '      limit: 1',
        '      widow: 1m',
      ],
      'bulwark.yaml:4 limits.rules[0].window: is required\n' +
        'bulwark.yaml:6 limits.rules[0]: unknown key "widow" (did you mean "window"?)',
    ],
    [
      'by case',
      ['upstreams: {}', 'listen:', '  Port: 80'],
      'bulwark.yaml:3 listen: unknown key "Port" (did you mean "port"?)',
    ],
    [
      'by prefix',
      ['upstreams: {}', 'limits:', '  max: 1kb'],
      'bulwark.yaml:3 limits: unknown key "max" (did you mean "maxBody"?)',
    ],
    [
      'under a record',
      ['upstreams:', '  shop:', '    url: "http://x"', '    timout: 5s'],
      'bulwark.yaml:4 upstreams.shop: unknown key "timout" (did you mean "timeout"?)',
    ],
    [
      "in a discriminated union's chosen branch",
      [
        'upstreams: {}',
        'limits:',
        '  rules:',
        '    - name: a',
        '      limit: 1',
        '      window: 1s',
        '      key: { type: header, nmae: x }',
      ],
      'bulwark.yaml:7 limits.rules[0].key.name: is required\n' +
        'bulwark.yaml:7 limits.rules[0].key: unknown key "nmae" (did you mean "name"?)',
    ],
    [
      'with nothing close, listing the allowed keys',
      ['upstreams: {}', 'listen:', '  backlog: 511'],
      'bulwark.yaml:3 listen: unknown key "backlog" (allowed keys: port, host)',
    ],
    [
      "in a discriminated union's branch, listing only its keys",
      [
        'upstreams: {}',
        'limits:',
        '  rules: [{ name: a, limit: 1, window: 1s, key: { type: ip, bits: 24 } }]',
      ],
      'bulwark.yaml:3 limits.rules[0].key: unknown key "bits" (allowed keys: type, prefix)',
    ],
  ])('%s', (_, lines, message) => fails(yaml(...lines), 'ERR_CONFIG_INVALID', message))
})

describe('other schema shapes', () => {
  const Other = z.strictObject({
    routes: z.record(z.string().regex(/^\//), z.strictObject({ weight: z.number().multipleOf(5) })),
    url: z.url({ error: (i) => `expected an http(s) URL, got ${JSON.stringify(i.input)}` }),
    id: z.string().length(4).optional(),
    note: z.string().max(5).optional(),
    pair: z.array(z.number()).length(2).optional(),
  })
  const check = (lines: string[], message: string) =>
    expect(() => parseConfig(yaml(...lines), 'bulwark.yaml', Other, {})).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID', message }),
    )

  test('a record key', () =>
    check(
      ['url: "http://x"', 'routes:', '  api: { weight: 5 }'],
      'bulwark.yaml:3 routes.api: is not an allowed key (expected a string matching /^\\//)',
    ))

  test('a multiple', () =>
    check(
      ['url: "http://x"', 'routes:', '  /api: { weight: 7 }'],
      'bulwark.yaml:3 routes["/api"].weight: expected a multiple of 5, got 7',
    ))

  test("a schema's own message, and is required when the key is missing", () => {
    check(['url: shop', 'routes: {}'], 'bulwark.yaml:1 url: expected an http(s) URL, got "shop"')
    check(['routes: {}'], 'bulwark.yaml:1 url: is required')
  })

  test('lengths', () =>
    check(
      ['url: "http://x"', 'routes: {}', 'id: abc', 'note: too long', 'pair: [1]'],
      'bulwark.yaml:3 id: expected a string of exactly 4 characters, got "abc"\n' +
        'bulwark.yaml:4 note: expected a string of at most 5 characters, got 8 characters\n' +
        'bulwark.yaml:5 pair: expected a list of exactly 2 items, got 1 item',
    ))
})

describe('all issues in one error', () => {
  const text = yaml(
    'mode: enforcing',
    'upstreams:',
    '  shop:',
    '    url: nope',
    'limits:',
    '  rules:',
    '    - name: a',
    '      limit: 0',
    '      window: 1 minute',
  )

  test('sorted by line, joined by newlines', () => {
    fails(
      text,
      'ERR_CONFIG_INVALID',
      [
        'bulwark.yaml:1 mode: expected one of "enforce" | "monitor", got "enforcing"',
        'bulwark.yaml:4 upstreams.shop.url: expected a URL, got "nope"',
        'bulwark.yaml:8 limits.rules[0].limit: expected a positive integer, got 0',
        'bulwark.yaml:9 limits.rules[0].window: expected a duration like "60s", got "1 minute"',
      ].join('\n'),
    )
  })

  test('with the first one on the error itself', () => {
    let error: unknown
    try {
      parse(text)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({
      name: 'ConfigError',
      file: 'bulwark.yaml',
      line: 1,
      path: 'mode',
      hint: undefined,
    })
    expect((error as ConfigError).issues).toHaveLength(4)
    expect((error as ConfigError).issues[1]).toEqual({
      file: 'bulwark.yaml',
      line: 4,
      path: 'upstreams.shop.url',
      message: 'expected a URL, got "nope"',
    })
  })
})

describe('JSON', () => {
  test('parses as YAML 1.2 and names lines', () => {
    const json = [
      '{',
      '  "upstreams": { "shop": { "url": "http://x" } },',
      '  "listen": {',
      '    "port": 0,',
      '    "hots": "::"',
      '  }',
      '}',
    ].join('\n')
    expect(() => parseConfig(json, 'bulwark.json', Schema, {})).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message:
          'bulwark.json:4 listen.port: expected a positive integer, got 0\n' +
          'bulwark.json:5 listen: unknown key "hots" (did you mean "host"?)',
      }),
    )
  })

  test('duplicate keys', () => {
    const json = '{\n  "upstreams": {},\n  "mode": "enforce",\n  "mode": "monitor"\n}'
    expect(() => parseConfig(json, 'bulwark.json', Schema, {})).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_PARSE',
        message: 'bulwark.json:4 duplicate key "mode" (first set on line 3)',
      }),
    )
  })

  test('syntax errors, where the parser finds them', () => {
    // A double-quoted YAML string may span lines, so an unclosed one is found at the end.
    const json = '{\n  "upstreams": {},\n  "mode": "enforce\n}'
    expect(() => parseConfig(json, 'bulwark.json', Schema, {})).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_PARSE',
        message: 'bulwark.json:4 missing closing "quote (at column 2)',
      }),
    )
  })
})

describe('environment variables', () => {
  const env = { SHOP_URL: 'http://shop:3001', PORT: '9090', EMPTY: '' }

  test.each<[string, string, unknown]>([
    ['a whole value', 'host: ${SHOP_URL}', 'http://shop:3001'],
    ['part of a value', 'host: "[${PORT}]"', '[9090]'],
    ['a default for an unset variable', 'host: ${HOST:-0.0.0.0}', '0.0.0.0'],
    ['a default for an empty variable', 'host: ${EMPTY:-0.0.0.0}', '0.0.0.0'],
    ['no default when set', 'host: ${SHOP_URL:-x}', 'http://shop:3001'],
    ['an empty variable', 'host: "x${EMPTY}y"', 'xy'],
    ['an escaped reference', 'host: $${HOST} and $$ and $', '${HOST} and $$ and $'],
  ])('%s', (_, line, host) => {
    expect(parse(yaml('upstreams: {}', 'listen:', `  ${line}`), env).listen.host).toBe(host)
  })

  test('an unquoted whole value takes the type it holds', () => {
    expect(parse(yaml('upstreams: {}', 'listen:', '  port: ${PORT}'), env).listen.port).toBe(9090)
  })

  test('a quoted one stays a string', () => {
    fails(
      yaml('upstreams: {}', 'listen:', '  port: "${PORT}"'),
      'ERR_CONFIG_INVALID',
      'bulwark.yaml:3 listen.port: expected an integer, got "9090"',
      env,
    )
  })

  test('in JSON', () => {
    const json = '{ "upstreams": { "shop": { "url": "${SHOP_URL}" } } }'
    expect(parseConfig(json, 'bulwark.json', Schema, env).upstreams.shop.url).toBe(
      'http://shop:3001',
    )
  })

  test('defaults to process.env', () => {
    process.env.BULWARK_TEST_HOST = '10.0.0.1'
    try {
      const text = yaml('upstreams: {}', 'listen: { host: "${BULWARK_TEST_HOST}" }')
      expect(parseConfig(text, 'bulwark.yaml', Schema).listen.host).toBe('10.0.0.1')
    } finally {
      delete process.env.BULWARK_TEST_HOST
    }
  })

  test('a missing variable', () => {
    const text = yaml(
      'mode: enforce',
      'listen:',
      '  port: 8080',
      '  host: 127.0.0.1',
      'upstreams:',
      '  shop:',
      '    url: ${SHOP_URL}',
    )
    fails(
      text,
      'ERR_CONFIG_ENV',
      'bulwark.yaml:7 upstreams.shop.url: environment variable SHOP_URL is not set (set it, or write ${SHOP_URL:-default})',
    )
  })

  test('every missing variable and bad reference, in one error', () => {
    const text = yaml('upstreams: {}', 'listen:', '  host: ${HOST}', '  port: ${PORT:8080}')
    fails(
      text,
      'ERR_CONFIG_ENV',
      'bulwark.yaml:3 listen.host: environment variable HOST is not set (set it, or write ${HOST:-default})\n' +
        'bulwark.yaml:4 listen.port: invalid reference "${PORT:8080}" (write ${NAME} or ${NAME:-default}, and $${ for a literal ${)',
    )
  })

  test('references in keys and comments are left alone', () => {
    const text = yaml('# ${NOT_SET}', 'upstreams:', '  ${NOT_SET}: { url: "http://x" }')
    expect(Object.keys(parse(text).upstreams)).toEqual(['${NOT_SET}'])
  })
})

describe('parse errors', () => {
  test.each<[string, string[], string]>([
    [
      'an unclosed flow list',
      ['upstreams: {}', 'tags: [a, b', 'mode: monitor'],
      'bulwark.yaml:3 flow sequence in block collection must be sufficiently indented and end with a ] (at column 1)',
    ],
    [
      'a tab for indentation',
      ['upstreams: {}', 'listen:', '\tport: 80'],
      'bulwark.yaml:3 tabs are not allowed as indentation (at column 1)',
    ],
    [
      'a duplicate key',
      ['upstreams: {}', 'mode: enforce', 'mode: monitor'],
      'bulwark.yaml:3 duplicate key "mode" (first set on line 2)',
    ],
    [
      'a duplicate nested key',
      ['upstreams: {}', 'limits:', '  rules:', '    - name: a', '      limit: 1', '      name: b'],
      'bulwark.yaml:6 limits.rules[0]: duplicate key "name" (first set on line 4)',
    ],
    [
      'an alias with no anchor',
      ['upstreams:', '  shop: *base'],
      'bulwark.yaml:2 upstreams.shop: unknown alias *base (set &base on an earlier value)',
    ],
    [
      'more than one document',
      ['upstreams: {}', '---', 'mode: monitor'],
      'bulwark.yaml:2 source contains multiple documents; please use YAML.parseAllDocuments() (at column 1)',
    ],
  ])('%s', (_, lines, message) => fails(yaml(...lines), 'ERR_CONFIG_PARSE', message))
})

describe('loadConfig', () => {
  const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))

  test('YAML and JSON load the same config', async () => {
    const fromYaml = await loadConfig(fixture('bulwark.yaml'), Schema, {})
    expect(await loadConfig(fixture('bulwark.json'), Schema, {})).toEqual(fromYaml)
    expect(fromYaml.limits.rules[0]).toEqual({
      name: 'login-per-account',
      limit: 5,
      window: 60_000,
      key: { type: 'header', name: 'x-account' },
    })
    expect(Object.isFrozen(fromYaml.limits.rules[0].key)).toBe(true)
  })

  test('names the file in every message', async () => {
    const file = fixture('invalid.yaml')
    await expect(loadConfig(file, Schema, {})).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message:
        `${file}:6 limits.rules[0].window: is required\n` +
        `${file}:8 limits.rules[0]: unknown key "widow" (did you mean "window"?)`,
    })
  })

  test('a missing file', async () => {
    const file = fixture('nope.yaml')
    await expect(loadConfig(file, Schema, {})).rejects.toMatchObject({
      code: 'ERR_CONFIG_UNREADABLE',
      message: `${file} cannot read file (ENOENT: no such file or directory)`,
      cause: expect.objectContaining({ code: 'ENOENT' }),
    })
  })

  test('a directory', async () => {
    const dir = fixture('')
    await expect(loadConfig(dir, Schema, {})).rejects.toMatchObject({
      code: 'ERR_CONFIG_UNREADABLE',
      message: `${dir} cannot read file (EISDIR: illegal operation on a directory)`,
    })
  })
})

describe('withLines: lines for problems found after loading', () => {
  test('fills in the line of each key path, quoted keys too; leaves what it cannot find', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-lines-'))
    const file = join(dir, 'c.yaml')
    await writeFile(
      file,
      [
        'limits:',
        '  rules:',
        '    - id: a',
        '    - id: b',
        '      window: 1m',
        'x:',
        '  "/a b": 1',
        '',
      ].join('\n'),
    )
    const issues = withLines(
      [
        { file, path: 'limits.rules[1].window', message: 'm' },
        { file, path: 'x["/a b"]', message: 'm' },
        { file, path: 'limits.rules[7]', message: 'm' },
        { file, path: '', message: 'm' },
        { file, path: 'x', line: 99, message: 'm' },
      ],
      file,
    )
    expect(issues.map((i) => i.line)).toEqual([5, 7, 2, undefined, 99])
    // A file that cannot be read (a config given as an object): the issues as they were.
    expect(
      withLines([{ file, path: 'x', message: 'm' }], join(dir, 'missing.yaml'))[0]!.line,
    ).toBeUndefined()
    await rm(dir, { recursive: true, force: true })
  })
})
