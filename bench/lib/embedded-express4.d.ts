/**
 * Express 4 is installed under the alias `express4` (next to Express 5), without types of its
 * own; the embedded bench and the adapter tests treat it as an untyped factory.
 */
declare module 'express4' {
  const express: unknown
  export default express
}
