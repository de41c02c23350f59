/**
 * Request scenarios: what each load run sends. Add a scenario by adding one entry to
 * {@link SCENARIOS}; select it with `--scenario name` (comma-separate to run several).
 */

/** One request shape replayed by every connection for the length of a run. */
export interface Scenario {
  /** Name used by `--scenario`. */
  name: string
  /** One-line description for `--list` and the README. */
  description: string
  /** HTTP method. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Path and query. */
  path: string
  /** Request headers (targets may add their own, e.g. an `authorization` header). */
  headers: Record<string, string>
  /** Request body, if any. */
  body?: string
}

/** A body the demo's OpenAPI contract accepts (an undocumented field would be refused). */
const CART_BODY = JSON.stringify({ productId: 1, quantity: 2 })

/** All known scenarios, by name. `get` is the default. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'get',
    description: 'GET /api/products/1, no body',
    method: 'GET',
    path: '/api/products/1',
    headers: { accept: 'application/json' },
  },
  {
    name: 'post',
    description: `POST /api/cart with a ${CART_BODY.length}-byte JSON body`,
    method: 'POST',
    path: '/api/cart',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: CART_BODY,
  },
]
