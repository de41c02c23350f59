/**
 * Turns a body a framework already parsed back into bytes of its own Content-Type, so the
 * layers canonicalise it exactly as they would the bytes on the wire (request/body.ts).
 *
 * What the parser threw away cannot come back: a JSON key given twice reaches the app (and
 * Bulwark) as its last value only, so it is no longer refused. Both read the same object, so
 * they still cannot disagree; only the signal that the client sent something ambiguous is lost.
 *
 * Form fields are written back the way the wire would carry them: a list as the field repeated
 * (refused as "given more than once", as on the wire) and a nested object (`qs`'s `a[b]=c`) in
 * bracket form, which is not the field `a`, as on the wire.
 *
 * Owns: re-serialisation. Called by embedded/node-body.ts and the fastify adapter.
 * @see ../../docs/embedded.md#bodies
 */

/**
 * The bytes a parsed `body` would have had on the wire, for its `Content-Type`.
 * @example
 * serialiseParsed({ username: 'bob' }, 'application/json').toString() // '{"username":"bob"}'
 */
export function serialiseParsed(body: unknown, contentType: string | undefined): Buffer {
  if (Buffer.isBuffer(body)) return body
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (typeof body === 'string') return Buffer.from(body)
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (media === 'application/x-www-form-urlencoded') return Buffer.from(formEncode(body))
  if (media === 'multipart/form-data') return Buffer.from(multipart(body, boundary(contentType!)))
  // JSON, and anything else: a type the layers cannot inspect is refused whatever its bytes.
  return Buffer.from(body === undefined ? '' : JSON.stringify(body))
}

/** `[name, value]` pairs of a parsed form, nested objects in bracket form. */
function pairs(value: unknown, name: string, out: [string, string][]): void {
  if (value === undefined || value === null) return
  if (Array.isArray(value)) for (const v of value) pairs(v, name, out)
  else if (typeof value === 'object')
    for (const [k, v] of Object.entries(value)) pairs(v, name ? `${name}[${k}]` : k, out)
  else out.push([name, String(value)])
}

function formEncode(body: unknown): string {
  const out: [string, string][] = []
  pairs(body, '', out)
  return new URLSearchParams(out).toString()
}

function boundary(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m?.[1] ?? m?.[2] ?? 'bulwark'
}

/** The text fields only: files are not fields, and parsers keep them elsewhere. */
function multipart(body: unknown, b: string): string {
  const out: [string, string][] = []
  pairs(body, '', out)
  let text = ''
  for (const [k, v] of out)
    text += `--${b}\r\nContent-Disposition: form-data; name="${k.replace(/"/g, '%22')}"\r\n\r\n${v}\r\n`
  return `${text}--${b}--\r\n`
}
