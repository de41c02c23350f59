/**
 * The error catalogue and its documentation stay in step: every code of `BulwarkErrorCode` has
 * its own section in docs/errors.md, and the docs describe no code the catalogue lacks.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const source = readFileSync(new URL('src/errors.ts', root), 'utf8')
const docs = readFileSync(new URL('docs/errors.md', root), 'utf8')

describe('error catalogue', () => {
  it('documents every code, and only those', () => {
    const union = /export type BulwarkErrorCode =([^]*?)\n\n/.exec(source)?.[1] ?? ''
    const codes = [...union.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!)
    expect(codes.length).toBeGreaterThan(10)
    const sections = [...docs.matchAll(/^## (ERR_[A-Z_]+)$/gm)].map((m) => m[1]!)
    expect([...sections].sort()).toEqual([...codes].sort())
  })
})
