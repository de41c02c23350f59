/**
 * A Map that finds its oldest entry in O(1), for bounded caches that evict or expire from the
 * head. `map.keys().next()` does not: V8 leaves deleted slots in place until the table is
 * rehashed and every new iterator walks over them, so with deletions at the head each lookup
 * cost O(deleted) — a store at its `maxKeys` bound slowed to tens of µs per write, and the
 * behaviour layer's trackers took a third of the demo policy's time under IP rotation. One
 * long-lived iterator walks forward instead.
 *
 * Order is insertion order: a cache that wants least-recently-used order deletes a key before
 * setting it again (`touch`). A value replaced in place keeps its position.
 */
export class OrderedMap<K, V> extends Map<K, V> {
  #cursor: Iterator<[K, V]> | undefined
  /** Where the cursor stopped: the oldest entry, until it is deleted. */
  #head: [K, V] | undefined
  /**
   * The key `touch` last moved to the end, while it is still the newest. Not a `#` field: the
   * Map constructor calls `set` for its initial entries before `#` fields exist.
   */
  private newest: K | undefined = undefined

  /** The oldest entry, or undefined when empty. */
  oldest(): [K, V] | undefined {
    const head = this.#head
    // A value set in place since the cursor read it: report the current one.
    if (head)
      return super.get(head[0]) === head[1] ? head : (this.#head = [head[0], super.get(head[0])!])
    let next = this.#cursor?.next()
    if (!next || next.done) {
      this.#cursor = this.entries()
      next = this.#cursor.next()
    }
    if (next.done) return undefined
    return (this.#head = next.value)
  }

  /** Removes the oldest entry; false when empty. */
  deleteOldest(): boolean {
    const oldest = this.oldest()
    return oldest !== undefined && this.delete(oldest[0])
  }

  /**
   * Sets `key` as the newest entry. Already the newest (one client's requests in a row): the
   * value is replaced in place — moving it would delete and re-add, and V8 shrinks and regrows
   * a small Map's table on that, allocating on every request.
   */
  touch(key: K, value: V): this {
    if (key === this.newest && super.has(key)) return super.set(key, value)
    this.delete(key)
    super.set(key, value)
    this.newest = key
    return this
  }

  override set(key: K, value: V): this {
    if (key !== this.newest) this.newest = undefined
    return super.set(key, value)
  }

  override delete(key: K): boolean {
    if (this.#head !== undefined && this.#head[0] === key) this.#head = undefined
    if (key === this.newest) this.newest = undefined
    return super.delete(key)
  }

  override clear(): void {
    this.#cursor = undefined
    this.#head = undefined
    this.newest = undefined
    super.clear()
  }
}
