/**
 * Media types as the contract compares them: lower case, without parameters, and the families
 * whose bodies the gateway parses (JSON, forms).
 */

/** `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaType(type: string): string {
  const semi = type.indexOf(';')
  return (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase()
}

/** `application/json` and every `+json` type (`application/merge-patch+json`…). */
export function isJsonType(type: string): boolean {
  const t = mediaType(type)
  return t === 'application/json' || t.endsWith('+json')
}

/** Form bodies, whose fields are strings the schema's types are read into. */
export function isFormType(type: string): boolean {
  const t = mediaType(type)
  return t === 'application/x-www-form-urlencoded' || t === 'multipart/form-data'
}
