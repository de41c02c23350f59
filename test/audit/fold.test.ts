import { describe, expect, it } from 'vitest'
import { foldPath, isIdSegment } from '../../src/audit/fold.js'

describe('isIdSegment', () => {
  it.each([
    '8431',
    '0',
    '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    '507f1f77bcf86cd799439011',
    'deadbeef01',
    'cus_nffrfeufnv2hib9',
    'eyjhbgcioijiuzi1nij9abc12',
    'bob@example.com',
  ])('%s names one thing', (seg) => expect(isIdSegment(seg)).toBe(true))

  it.each([
    'products',
    'v1',
    'api',
    'login',
    'deadbeef',
    'my-products',
    'checkout',
    'oauth2',
    'page-2',
    '',
  ])('%s is a kind of thing', (seg) => expect(isIdSegment(seg)).toBe(false))
})

describe('foldPath', () => {
  it('folds id segments into :id, :id2…', () => {
    expect(foldPath('/api/products/7')).toBe('/api/products/:id')
    expect(foldPath('/api/orders/8431/items/5f0c9a1be4b0a1b2c3d4e5f6')).toBe(
      '/api/orders/:id/items/:id2',
    )
    expect(foldPath('/v2/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/avatar')).toBe(
      '/v2/users/:id/avatar',
    )
    expect(foldPath('/health')).toBe('/health')
    expect(foldPath('/')).toBe('/')
  })

  it('folds literal segments a route pattern would misread', () => {
    expect(foldPath('/v1/:batch')).toBe('/v1/:id')
    expect(foldPath('/a/x*y')).toBe('/a/:id')
  })
})
