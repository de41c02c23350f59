import { describe, expect, it } from 'vitest'
import {
  Ambiguity,
  canonicalPath,
  describeAmbiguity,
  type CasePolicy,
} from '../../src/request/path.js'
import { PATH_CASES } from './path-cases.js'

describe('canonicalPath', () => {
  it('has a rich table with unique names', () => {
    expect(PATH_CASES.length).toBeGreaterThanOrEqual(45)
    expect(new Set(PATH_CASES.map((c) => c.name)).size).toBe(PATH_CASES.length)
  })

  it.each(PATH_CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const r = canonicalPath(c.target, c.case ?? 'sensitive')
    if (c.fail) {
      expect(r).toEqual({ ok: false, reason: c.reason ?? expect.any(String) })
      return
    }
    expect(c.path).toBeDefined()
    expect(c.key).toBeDefined()
    expect(r).toEqual({
      ok: true,
      path: c.path,
      key: c.key,
      query: c.query ?? '',
      flags: c.flags ?? 0,
    })
  })

  it('is idempotent on the path it sends upstream', () => {
    for (const c of PATH_CASES) {
      if (c.fail || c.path === undefined) continue
      const again = canonicalPath(c.path, c.case ?? 'sensitive')
      expect(again.ok && again.path, c.name).toBe(c.path)
    }
  })
})

describe('describeAmbiguity', () => {
  it('names nothing for 0', () => {
    expect(describeAmbiguity(0)).toBe('')
  })

  it('names flags in bit order', () => {
    expect(describeAmbiguity(Ambiguity.semicolon | Ambiguity.encodedSlash)).toBe(
      'encoded slash, semicolon',
    )
  })

  it('names every flag', () => {
    const all = Object.values(Ambiguity).reduce((a, b) => a | b, 0)
    expect(describeAmbiguity(all)).toBe(
      'encoded slash, encoded backslash, backslash, encoded NUL, encoded control character, ' +
        'invalid UTF-8, not NFKC-normalised, semicolon, dot segment above root',
    )
  })

  it('ignores unknown bits', () => {
    expect(describeAmbiguity(1 << 20)).toBe('')
  })
})

/** mulberry32: a tiny seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const POLICIES: readonly CasePolicy[] = ['sensitive', 'insensitive', 'lower']

describe('canonicalPath properties', () => {
  const PIECES = ['/', '.', '%2e', '%2F', 'a', 'A', ';', '%41', '//']

  it('never throws and is idempotent on 2,000 random targets', () => {
    const rnd = random(20_240_611)
    for (let n = 0; n < 2000; n++) {
      let target = '/'
      const len = 1 + Math.floor(rnd() * 14)
      for (let i = 0; i < len; i++) target += PIECES[Math.floor(rnd() * PIECES.length)]
      const policy = POLICIES[n % POLICIES.length]
      const r = canonicalPath(target, policy)
      expect(r.ok, target).toBe(true)
      if (!r.ok) continue
      expect(r.path, target).toMatch(/^\/(?:[^/]+\/?)*$/)
      expect(r.path.split('/').includes('.') || r.path.split('/').includes('..'), target).toBe(
        false,
      )
      const again = canonicalPath(r.path, policy)
      expect(again.ok && again.path, target).toBe(r.path)
      if (r.flags === 0) expect(again, target).toEqual(r)
    }
  })

  it('never throws on random bytes', () => {
    const rnd = random(7)
    for (let n = 0; n < 2000; n++) {
      let target = rnd() < 0.9 ? '/' : ''
      const len = Math.floor(rnd() * 12)
      for (let i = 0; i < len; i++) {
        const p = rnd()
        target +=
          p < 0.3
            ? '%' +
              Math.floor(rnd() * 256)
                .toString(16)
                .padStart(2, '0')
            : p < 0.4
              ? '%'
              : String.fromCharCode(Math.floor(rnd() * 0x100))
      }
      expect(() => canonicalPath(target, POLICIES[n % 3])).not.toThrow()
    }
  })

  it('gives the same answer whether a letter arrives plain or escaped', () => {
    // An escaped letter forces the decoding loop, so this checks the fast path against it.
    const chars = "abcXYZ09-._~!$&'()*+,=:@/"
    const rnd = random(42)
    for (let n = 0; n < 2000; n++) {
      let target = '/'
      const len = 1 + Math.floor(rnd() * 16)
      for (let i = 0; i < len; i++) target += chars[Math.floor(rnd() * chars.length)]
      target += 'q'
      const escaped = target.replace(
        /[A-Za-z](?=[^A-Za-z]*$)/,
        (m) => '%' + m.charCodeAt(0).toString(16),
      )
      const policy = POLICIES[n % 3]
      expect(canonicalPath(escaped, policy), target).toEqual(canonicalPath(target, policy))
    }
  })
})
