/**
 * The canonical-path table: request targets and what `canonicalPath` must make of them. Data
 * only, so the proxy integration test can replay the same targets through a real upstream.
 * @see ../../src/request/path.ts
 */
import { Ambiguity, type CasePolicy } from '../../src/request/path.js'

/** One row of {@link PATH_CASES}. */
export interface PathCase {
  readonly name: string
  readonly target: string
  /** Defaults to `sensitive`. */
  readonly case?: CasePolicy
  /** Expected upstream path; required unless `fail`. */
  readonly path?: string
  /** Expected route key; required unless `fail`. */
  readonly key?: string
  /** Expected raw query; defaults to `''`. */
  readonly query?: string
  /** Exact expected flags; defaults to 0. */
  readonly flags?: number
  readonly fail?: true
  /** Exact expected failure reason, when `fail`. */
  readonly reason?: string
}

const { encodedSlash, encodedBackslash, backslash, nul, controlChar, invalidUtf8 } = Ambiguity
const { nonNfkc, semicolon, dotAboveRoot } = Ambiguity

export const PATH_CASES: readonly PathCase[] = [
  // plain, fast path
  { name: 'root', target: '/', path: '/', key: '/' },
  { name: 'plain', target: '/api/products/42', path: '/api/products/42', key: '/api/products/42' },
  {
    name: 'pchar sub-delims kept',
    target: "/a!$&'()*+,=:@b/~x-y_z.json",
    path: "/a!$&'()*+,=:@b/~x-y_z.json",
    key: "/a!$&'()*+,=:@b/~x-y_z.json",
  },
  {
    name: 'dot file is not a dot segment',
    target: '/.well-known/x',
    path: '/.well-known/x',
    key: '/.well-known/x',
  },
  {
    name: 'three dots are not a dot segment',
    target: '/a/.../b..c/..d',
    path: '/a/.../b..c/..d',
    key: '/a/.../b..c/..d',
  },

  // query
  {
    name: 'query kept raw',
    target: '/api/products/42?x=1',
    path: '/api/products/42',
    key: '/api/products/42',
    query: 'x=1',
  },
  {
    name: 'query not decoded or resolved',
    target: '/s?q=a%20b&p=/../%2e%2E//&U=%41',
    path: '/s',
    key: '/s',
    query: 'q=a%20b&p=/../%2e%2E//&U=%41',
  },
  {
    name: 'stray percent in query allowed',
    target: '/s?q=100%',
    path: '/s',
    key: '/s',
    query: 'q=100%',
  },
  { name: 'empty query', target: '/a?', path: '/a', key: '/a', query: '' },
  { name: 'second ? belongs to the query', target: '/a?b?c', path: '/a', key: '/a', query: 'b?c' },
  { name: 'query on a slow path', target: '/a/../b?c=%2F', path: '/b', key: '/b', query: 'c=%2F' },
  { name: 'query after dot segment', target: '/a/.?x', path: '/a/', key: '/a', query: 'x' },

  // slashes
  {
    name: 'trailing slash kept in path, dropped from key',
    target: '/api/users/',
    path: '/api/users/',
    key: '/api/users',
  },
  {
    name: 'duplicate slashes collapse',
    target: '/api//users///42',
    path: '/api/users/42',
    key: '/api/users/42',
  },
  {
    name: 'leading double slash is not an authority',
    target: '//evil.example/a',
    path: '/evil.example/a',
    key: '/evil.example/a',
  },
  { name: 'only slashes', target: '///', path: '/', key: '/' },
  { name: 'duplicate trailing slashes', target: '/a//', path: '/a/', key: '/a' },

  // dot segments
  { name: 'single dot removed', target: '/a/./b', path: '/a/b', key: '/a/b' },
  { name: 'double dot pops', target: '/a/b/../c', path: '/a/c', key: '/a/c' },
  { name: 'trailing dot leaves slash', target: '/a/b/.', path: '/a/b/', key: '/a/b' },
  { name: 'trailing double dot leaves slash', target: '/a/b/..', path: '/a/', key: '/a' },
  { name: 'double dot to root', target: '/a/..', path: '/', key: '/' },
  { name: 'encoded dot', target: '/a/%2e/b', path: '/a/b', key: '/a/b' },
  { name: 'encoded double dot, mixed case', target: '/a/b/%2e%2E/c', path: '/a/c', key: '/a/c' },
  { name: 'half encoded double dot', target: '/a/b/.%2E/c', path: '/a/c', key: '/a/c' },
  { name: 'dot after slash run', target: '/a//.//../b', path: '/b', key: '/b' },
  {
    name: 'above root clamped',
    target: '/../etc/passwd',
    path: '/etc/passwd',
    key: '/etc/passwd',
    flags: dotAboveRoot,
  },
  {
    name: 'above root, encoded',
    target: '/a/%2e%2e/%2E%2e/admin',
    path: '/admin',
    key: '/admin',
    flags: dotAboveRoot,
  },
  { name: 'above root at the end', target: '/..', path: '/', key: '/', flags: dotAboveRoot },

  // percent-decoding
  { name: 'unreserved %41 decoded', target: '/%41PI', path: '/API', key: '/API' },
  { name: 'unreserved %7E decoded', target: '/%7Euser', path: '/~user', key: '/~user' },
  {
    name: 'every unreserved kind decoded',
    target: '/%2d%2E%5f%7e%30%7A%61',
    path: '/-._~0za',
    key: '/-._~0za',
  },
  {
    name: 'encoded letters spell a route',
    target: '/%61%64%6d%69%6e',
    path: '/admin',
    key: '/admin',
  },
  {
    name: 'reserved ? # % kept',
    target: '/a%3Fb/%23/%25',
    path: '/a%3Fb/%23/%25',
    key: '/a%3Fb/%23/%25',
  },
  {
    name: 'lower-case hex upper-cased',
    target: '/a%3fb%2b%5b',
    path: '/a%3Fb%2B%5B',
    key: '/a%3Fb%2B%5B',
  },
  {
    name: 'path-safe sub-delims decoded (a backend routes them decoded)',
    target: '/v1/items%3abatchGet/%40me%21%24%26%27%28%29%2A%2C%3D',
    path: "/v1/items:batchGet/@me!$&'()*,=",
    key: "/v1/items:batchGet/@me!$&'()*,=",
  },
  {
    name: 'plus, semicolon-free reserved characters stay encoded',
    target: '/a%2Bb%5Bc%5D%7Cd',
    path: '/a%2Bb%5Bc%5D%7Cd',
    key: '/a%2Bb%5Bc%5D%7Cd',
  },
  {
    name: 'double encoding decoded once only',
    target: '/%252e%252e/admin',
    path: '/%252e%252e/admin',
    key: '/%252e%252e/admin',
  },
  { name: 'encoded space kept', target: '/a%20b', path: '/a%20b', key: '/a%20b' },

  // flagged escapes
  { name: 'encoded slash', target: '/a%2fb', path: '/a%2Fb', key: '/a%2Fb', flags: encodedSlash },
  {
    name: 'encoded slash hides dot segments',
    target: '/a/..%2f..%2fadmin',
    path: '/a/..%2F..%2Fadmin',
    key: '/a/..%2F..%2Fadmin',
    flags: encodedSlash,
  },
  {
    name: 'encoded backslash',
    target: '/a%5cb',
    path: '/a%5Cb',
    key: '/a%5Cb',
    flags: encodedBackslash,
  },
  { name: 'encoded NUL', target: '/a%00.json', path: '/a%00.json', key: '/a%00.json', flags: nul },
  {
    name: 'encoded CR LF',
    target: '/a%0d%0aSet-Cookie:x',
    path: '/a%0D%0ASet-Cookie:x',
    key: '/a%0D%0ASet-Cookie:x',
    flags: controlChar,
  },
  {
    name: 'encoded DEL and US',
    target: '/a%7F%1f',
    path: '/a%7F%1F',
    key: '/a%7F%1F',
    flags: controlChar,
  },
  {
    name: 'NUL and control together',
    target: '/%00%01',
    path: '/%00%01',
    key: '/%00%01',
    flags: nul | controlChar,
  },

  // raw characters that servers read differently
  {
    name: 'raw backslash kept',
    target: '/a\\..\\admin',
    path: '/a\\..\\admin',
    key: '/a\\..\\admin',
    flags: backslash,
  },
  {
    name: 'semicolon path parameter',
    target: '/admin;jsessionid=1',
    path: '/admin;jsessionid=1',
    key: '/admin;jsessionid=1',
    flags: semicolon,
  },
  {
    name: 'semicolon after double dot is not a dot segment',
    target: '/a/..;/admin',
    path: '/a/..;/admin',
    key: '/a/..;/admin',
    flags: semicolon,
  },
  {
    name: 'encoded semicolon',
    target: '/admin%3bx',
    path: '/admin%3Bx',
    key: '/admin%3Bx',
    flags: semicolon,
  },
  {
    name: 'several flags at once',
    target: '/../a%2F;b\\c',
    path: '/a%2F;b\\c',
    key: '/a%2F;b\\c',
    flags: encodedSlash | backslash | semicolon | dotAboveRoot,
  },

  // UTF-8
  {
    name: 'overlong slash',
    target: '/%C0%AF',
    path: '/%C0%AF',
    key: '/%C0%AF',
    flags: invalidUtf8,
  },
  {
    name: 'overlong slash between dots',
    target: '/..%c0%af../',
    path: '/..%C0%AF../',
    key: '/..%C0%AF..',
    flags: invalidUtf8,
  },
  {
    name: 'surrogate',
    target: '/%ED%A0%80',
    path: '/%ED%A0%80',
    key: '/%ED%A0%80',
    flags: invalidUtf8,
  },
  {
    name: 'truncated sequence',
    target: '/%E2%82',
    path: '/%E2%82',
    key: '/%E2%82',
    flags: invalidUtf8,
  },
  {
    name: 'truncated sequence before ASCII',
    target: '/%E2%82x',
    path: '/%E2%82x',
    key: '/%E2%82x',
    flags: invalidUtf8,
  },
  { name: 'lone continuation byte', target: '/%80', path: '/%80', key: '/%80', flags: invalidUtf8 },
  {
    name: 'valid UTF-8 kept, no flag',
    target: '/caf%c3%a9',
    path: '/caf%C3%A9',
    key: '/caf%C3%A9',
  },
  {
    name: 'valid 4-byte UTF-8',
    target: '/%F0%9F%98%80',
    path: '/%F0%9F%98%80',
    key: '/%F0%9F%98%80',
  },
  {
    name: 'fullwidth solidus',
    target: '/a%EF%BC%8Fb',
    path: '/a%EF%BC%8Fb',
    key: '/a%EF%BC%8Fb',
    flags: nonNfkc,
  },
  {
    name: 'fullwidth letter',
    target: '/adm%ef%bd%89n',
    path: '/adm%EF%BD%89n',
    key: '/adm%EF%BD%89n',
    flags: nonNfkc,
  },
  {
    name: 'ligature',
    target: '/%EF%AC%81le',
    path: '/%EF%AC%81le',
    key: '/%EF%AC%81le',
    flags: nonNfkc,
  },
  {
    name: 'combining mark composes with the letter before',
    target: '/cafe%CC%81',
    path: '/cafe%CC%81',
    key: '/cafe%CC%81',
    flags: nonNfkc,
  },
  {
    name: 'combining mark composes with an escape before',
    target: '/a%3C%CC%B8',
    path: '/a%3C%CC%B8',
    key: '/a%3C%CC%B8',
    flags: nonNfkc,
  },
  { name: 'combining mark after a slash', target: '/%CC%81', path: '/%CC%81', key: '/%CC%81' },
  { name: 'BOM kept as text', target: '/%EF%BB%BFa', path: '/%EF%BB%BFa', key: '/%EF%BB%BFa' },

  // case policies
  {
    name: 'sensitive',
    target: '/API/Admin/',
    case: 'sensitive',
    path: '/API/Admin/',
    key: '/API/Admin',
  },
  {
    name: 'insensitive',
    target: '/API/Admin/',
    case: 'insensitive',
    path: '/API/Admin/',
    key: '/api/admin',
  },
  { name: 'lower', target: '/API/Admin/', case: 'lower', path: '/api/admin/', key: '/api/admin' },
  {
    name: 'lower keeps escape hex upper-case',
    target: '/A%2fB%c3%a9',
    case: 'lower',
    path: '/a%2Fb%C3%A9',
    key: '/a%2Fb%C3%A9',
    flags: encodedSlash,
  },
  {
    name: 'insensitive after decoding',
    target: '/%41PI/x/',
    case: 'insensitive',
    path: '/API/x/',
    key: '/api/x',
  },
  {
    name: 'lower on the slow path',
    target: '/API//Users/./',
    case: 'lower',
    path: '/api/users/',
    key: '/api/users',
  },
  {
    name: 'lower leaves the query alone',
    target: '/A?B=C',
    case: 'lower',
    path: '/a',
    key: '/a',
    query: 'B=C',
  },
  {
    name: 'insensitive, already lower',
    target: '/api/admin',
    case: 'insensitive',
    path: '/api/admin',
    key: '/api/admin',
  },

  // bad escapes
  { name: 'lone percent', target: '/%', fail: true, reason: 'bad percent-encoding' },
  { name: 'non-hex escape', target: '/%G1', fail: true, reason: 'bad percent-encoding' },
  { name: 'one hex digit', target: '/%4', fail: true, reason: 'bad percent-encoding' },
  {
    name: 'one hex digit then slash',
    target: '/a%4/b',
    fail: true,
    reason: 'bad percent-encoding',
  },
  {
    name: 'escaped percent sign unescaped',
    target: '/%%41',
    fail: true,
    reason: 'bad percent-encoding',
  },
  {
    name: 'broken escape inside a UTF-8 run',
    target: '/%C3%',
    fail: true,
    reason: 'bad percent-encoding',
  },

  // raw bytes and shapes that must fail
  { name: 'raw space', target: '/a b', fail: true, reason: 'invalid character' },
  { name: 'raw tab', target: '/a\tb', fail: true, reason: 'invalid character' },
  { name: 'raw DEL', target: '/a\x7f', fail: true, reason: 'invalid character' },
  { name: 'raw non-ASCII', target: '/café', fail: true, reason: 'invalid character' },
  { name: 'raw space in query', target: '/a?b c', fail: true, reason: 'invalid character' },
  { name: 'raw #', target: '/a#b', fail: true, reason: 'fragment in target' },
  { name: 'raw # in query', target: '/a?b#c', fail: true, reason: 'fragment in target' },
  { name: 'empty target', target: '', fail: true, reason: 'must start with /' },
  { name: 'relative path', target: 'a/b', fail: true, reason: 'must start with /' },
  { name: 'asterisk-form', target: '*', fail: true, reason: 'must start with /' },
  { name: 'absolute-form', target: 'http://x/a', fail: true, reason: 'must start with /' },
  { name: 'query only', target: '?a=1', fail: true, reason: 'must start with /' },

  // size
  {
    name: 'very long path, fast',
    target: '/a'.repeat(5000),
    path: '/a'.repeat(5000),
    key: '/a'.repeat(5000),
  },
  { name: 'very long path, slow', target: '/x/..'.repeat(2000) + '/%41', path: '/A', key: '/A' },
  {
    name: 'very long climb',
    target: '/..'.repeat(2000) + '/a',
    path: '/a',
    key: '/a',
    flags: dotAboveRoot,
  },
  {
    name: 'very deep path',
    target: '/%61'.repeat(3000) + '/',
    path: '/a'.repeat(3000) + '/',
    key: '/a'.repeat(3000),
  },
]
