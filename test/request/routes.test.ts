import { describe, expect, it } from 'vitest'
import { compileRoutes, patternProblem } from '../../src/request/routes.js'

describe('compileRoutes', () => {
  const m = compileRoutes(
    [
      { paths: ['/api/*'], value: 'api' },
      { paths: ['/api/products/:id'], methods: ['GET'], value: 'product' },
      { paths: ['/api/products/featured'], value: 'featured' },
      { paths: ['/api/users/:uid/orders/:oid'], value: 'order' },
      { paths: ['/health'], value: 'health' },
      { paths: ['/api/Admin/*', '/internal/*'], value: 'admin' },
    ],
    true,
  )

  it('prefers static over parameter over wildcard', () => {
    expect(m.best('GET', '/api/products/featured')?.value).toBe('featured')
    expect(m.best('GET', '/api/products/7')).toEqual({
      template: '/api/products/:id',
      params: { id: '7' },
      value: 'product',
    })
    expect(m.best('GET', '/api/other')?.value).toBe('api')
  })

  it('falls back to the wildcard when the method does not match', () => {
    expect(m.best('POST', '/api/products/7')?.value).toBe('api')
  })

  it('GET covers HEAD (backends answer HEAD with their GET handler), and nothing else', () => {
    expect(m.best('HEAD', '/api/products/7')?.value).toBe('product')
    expect(m.all('HEAD', '/api/products/7')).toEqual(['api', 'product'])
    const post = compileRoutes([{ paths: ['/x'], methods: ['POST'], value: 1 }], true)
    expect(post.best('HEAD', '/x')).toBeUndefined()
    expect(post.best('GET', '/x')).toBeUndefined()
  })

  it('captures several parameters', () => {
    expect(m.best('GET', '/api/users/u1/orders/o2')?.params).toEqual({ uid: 'u1', oid: 'o2' })
  })

  it('a wildcard matches its own root and everything below it', () => {
    expect(m.best('GET', '/api')?.value).toBe('api')
    expect(m.best('GET', '/internal/a/b/c')?.value).toBe('admin')
  })

  it('folds the case of static segments when asked', () => {
    expect(m.best('GET', '/api/admin/x')?.value).toBe('admin')
  })

  it('ignores a trailing slash and returns nothing for unknown paths', () => {
    expect(m.best('GET', '/health/')?.value).toBe('health')
    expect(m.best('GET', '/nope')).toBeUndefined()
    expect(m.best('GET', '/')).toBeUndefined()
  })

  it('hands tables that match the same names and values one params object, and each other path its own', () => {
    const rules = compileRoutes(
      [
        { paths: ['/api/products/:id'], value: 'sweep' },
        { paths: ['/api/products/:sku'], value: 'by-sku' },
        { paths: ['/api/users/:uid/orders/:oid'], value: 'order' },
      ],
      true,
    )
    const a = m.best('GET', '/api/products/7')!.params
    expect(rules.allHits('GET', '/api/products/7')[0]!.params).toBe(a)
    // Another value, other names, a two-parameter path that shares its first value: each its own.
    expect(rules.allHits('GET', '/api/products/8')[0]!.params).toEqual({ id: '8' })
    expect(m.best('GET', '/api/products/7')!.params).toEqual({ id: '7' })
    expect(rules.allHits('GET', '/api/products/7')[1]!.params).toEqual({ sku: '7' })
    expect(m.best('GET', '/api/users/7/orders/1')!.params).toEqual({ uid: '7', oid: '1' })
    expect(rules.best('GET', '/api/users/7/orders/2')!.params).toEqual({ uid: '7', oid: '2' })
    expect(m.best('GET', '/api/users/7/orders/1')!.params).toEqual({ uid: '7', oid: '1' })
  })

  it('all() returns every matching entry once, in config order', () => {
    expect(m.all('GET', '/api/products/7')).toEqual(['api', 'product'])
    expect(m.all('POST', '/api/products/7')).toEqual(['api'])
    expect(m.all('GET', '/api/admin/x')).toEqual(['api', 'admin'])
  })

  it('is case-sensitive when not folding', () => {
    const s = compileRoutes([{ paths: ['/API/x'], value: 1 }], false)
    expect(s.best('GET', '/API/x')?.value).toBe(1)
    expect(s.best('GET', '/api/x')).toBeUndefined()
  })

  it('rejects malformed patterns with a reason', () => {
    expect(patternProblem('api')).toBe('must start with "/"')
    expect(patternProblem('/a/*/b')).toBe('"*" may only be the last segment')
    expect(patternProblem('/a*')).toBe('"*" must be a whole segment, as in "/api/*"')
    expect(patternProblem('/a/:')).toBe('parameter ":" must be ":" followed by a name')
    expect(patternProblem('/a/../b')).toBe('must not contain dot segments')
    expect(patternProblem('/a/:__proto__')).toBe(
      'parameter name "__proto__" is reserved: choose another name',
    )
    expect(patternProblem('/a/:id/*')).toBeUndefined()
    expect(() => compileRoutes([{ paths: ['x'], value: 1 }], true)).toThrow(TypeError)
  })
})
