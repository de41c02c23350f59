/**
 * The `contract:` block: which OpenAPI documents the API promises, what happens to requests they
 * do not describe, and which parts of a request are validated against them.
 * @see ../../../docs/contract.md#configuration
 */
import { z } from 'zod'
import { FLAG_FACETS } from '../../identity/flags.js'
import { duration } from '../../config/units.js'
import { mode, routePattern } from '../common.js'

/** The gateway's own answer to an undocumented request, shaped like the backend's own. */
const Answer = (status: number) =>
  z.strictObject({
    status: z.number().int().min(400).max(599).default(status),
    /**
     * The body your backend sends for an unknown route (`{"error":"not found"}`), so a guess
     * answered by Bulwark reads exactly like one answered by the backend. Default: Bulwark's own
     * error body.
     */
    body: z.string().optional(),
    contentType: z.string().default('application/json; charset=utf-8'),
  })

export const ContractSpec = z.strictObject({
  /** One OpenAPI 3.0 or 3.1 document (YAML or JSON), or several; each adds its paths. */
  openapi: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /**
   * The prefix the documents' paths are served under (`/api`). Default: the path of each
   * document's first `servers[].url`, or none.
   */
  basePath: z
    .string()
    .regex(/^\/[^?#]*$/, { error: 'expected a path like "/api" (or "/" for none)' })
    .optional(),
  /** A method or path the contract does not describe: `block` it, `monitor` it, or `flag` the client. */
  undocumented: z.enum(['block', 'monitor', 'flag']).default('block'),
  /** Paths with no contract yet (`/internal-legacy/*`): neither refused nor validated. */
  exempt: z.array(routePattern).default([]),
  validate: z
    .strictObject({
      body: z.boolean().default(true),
      query: z.boolean().default(true),
      headers: z.boolean().default(true),
      cookies: z.boolean().default(true),
      /** A query parameter the operation does not declare: `allow` it (OpenAPI's default) or `refuse` it. */
      unknownQuery: z.enum(['allow', 'refuse']).default('allow'),
      /**
       * An operation the document secures, asked without any of the credentials its
       * `security` names (no bearer token, no API key): 401 at the edge.
       */
      credentials: z.boolean().default(false),
      /**
       * A top-level field of an object request body that its schema does not declare (`"role":
       * "admin"` on a sign-up): `allow` it (JSON Schema's default) or `refuse` it (mass
       * assignment: a backend that binds the whole body to its model takes it).
       */
      unknownFields: z.enum(['allow', 'refuse']).default('allow'),
    })
    .prefault({}),
  /**
   * OpenAPI paths are case-sensitive: by default `/API/Products` is not `/api/products` and
   * counts as undocumented. `false` matches them as the gateway's routes do (`server.pathCase`).
   */
  caseSensitive: z.boolean().default(true),
  /** The answer to an undocumented path (`block` and `flag`). */
  notFound: Answer(404).prefault({}),
  /** The answer to an undocumented method on a documented path, with an `Allow` header. */
  methodNotAllowed: Answer(405).prefault({}),
  /** Risk weights put on the verdicts as signals, for the risk score. */
  signals: z
    .strictObject({
      tampering: z.number().min(0).default(10),
      undocumented: z.number().min(0).default(5),
    })
    .prefault({}),
  /** With `undocumented: flag`: how long the client stays flagged. */
  flagTtl: duration.default(3_600_000),
  /** With `undocumented: flag`: the facets flagged (default: every facet the client has). */
  flagFacets: z
    .array(z.enum(FLAG_FACETS))
    .min(1)
    .default([...FLAG_FACETS]),
  mode: mode.optional(),
})
export type ContractSpec = z.output<typeof ContractSpec>
