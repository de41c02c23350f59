import { describe, expect, it } from 'vitest'
import { openApiFromText, readOpenApi } from '../../src/audit/openapi.js'

const DOC = `
openapi: 3.0.3
info: { title: shop, version: '1' }
servers:
  - url: https://api.shop.test/{version}
    variables: { version: { default: v1 } }
paths:
  /products:
    get: {}
  /products/{productId}:
    get: {}
    delete: {}
  /products/{id}/reviews/{review-id}:
    post: {}
  /files/{name}.json:
    get: {}
  /login:
    post: {}
`

describe('openApiFromText', () => {
  const api = openApiFromText(DOC)

  it('reads templates as route patterns under the servers’ base path', () => {
    expect(api.operations).toEqual([
      { method: 'GET', template: '/v1/products' },
      { method: 'GET', template: '/v1/products/:productId' },
      { method: 'DELETE', template: '/v1/products/:productId' },
      { method: 'POST', template: '/v1/products/:id/reviews/:review_id' },
      { method: 'GET', template: '/v1/files/:name' },
      { method: 'POST', template: '/v1/login' },
    ])
  })

  it('matches canonical path keys and says whether the method is documented', () => {
    expect(api.match('GET', '/v1/products/42')).toEqual({
      template: '/v1/products/:productId',
      documented: true,
    })
    expect(api.match('HEAD', '/v1/products/42')).toEqual({
      template: '/v1/products/:productId',
      documented: true,
    })
    expect(api.match('PUT', '/v1/products/42')).toEqual({
      template: '/v1/products/:productId',
      documented: false,
    })
    expect(api.match('GET', '/v1/files/report.json')).toEqual({
      template: '/v1/files/:name',
      documented: true,
    })
    expect(api.match('GET', '/v1/admin')).toBeUndefined()
    expect(api.match('GET', '/products/1')).toBeUndefined()
  })

  it('reads Swagger 2 basePath and JSON', () => {
    const v2 = openApiFromText(
      JSON.stringify({ swagger: '2.0', basePath: '/api/', paths: { '/pets/{id}': { get: {} } } }),
    )
    expect(v2.operations).toEqual([{ method: 'GET', template: '/api/pets/:id' }])
  })

  it('rejects what is not an OpenAPI document', async () => {
    expect(() => openApiFromText('a: [', 'x.yaml')).toThrow(
      expect.objectContaining({ code: 'ERR_OPENAPI_INVALID' }),
    )
    expect(() => openApiFromText('openapi: 3.0.0\n', 'x.yaml')).toThrow(
      expect.objectContaining({
        code: 'ERR_OPENAPI_INVALID',
        message: 'x.yaml: expected an OpenAPI document with a "paths" object',
      }),
    )
    await expect(readOpenApi('/nonexistent/openapi.yaml')).rejects.toMatchObject({
      code: 'ERR_OPENAPI_UNREADABLE',
      message:
        '/nonexistent/openapi.yaml: cannot read OpenAPI file (ENOENT: no such file or directory)',
    })
  })
})
