/**
 * A copy of a string that shares no memory with the text it was cut from. V8 keeps a slice of
 * a string (a regex capture, a `split` part) as a view that pins the whole original — here a
 * 64 kB chunk of the log. A key kept in a long-lived table must be detached, or the table would
 * hold on to the chunks it was read from.
 */

/**
 * @example table.set(detach(record.ip), entry)
 */
export function detach(s: string): string {
  // V8 copies strings shorter than 13 characters rather than slicing them. Longer: flattening
  // the concatenation copies the characters; the slice is then a view of that fresh copy.
  return s.length < 13 ? s : (' ' + s).slice(1)
}
