/**
 * A queue's pending ids in queue order, as the Redis LIST holds them: enqueue appends at the tail (LPUSH), workers take
 * from the head (RPOP), a task given back goes to the head (RPUSH). An array with a moving head, so taking from the
 * head costs nothing; the taken slots are dropped once they are the larger part.
 */
export class PendingList {
  private items: string[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** Appends ids at the tail, in order (the first of them is served first). */
  pushTail(ids: readonly string[]): void {
    for (const id of ids) this.items.push(id);
  }

  /** Puts an id at the head: it is served next. */
  pushHead(id: string): void {
    if (this.head > 0) this.items[--this.head] = id;
    else this.items.unshift(id);
  }

  /** Takes up to `count` ids from the head. */
  popHead(count: number): string[] {
    const end = Math.min(this.items.length, this.head + count);
    const out = this.items.slice(this.head, end);
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** The id at the head, if any. */
  peek(): string | undefined {
    return this.size > 0 ? this.items[this.head] : undefined;
  }

  /** Ids from position `start` to `stop` (inclusive) counted from the head. */
  slice(start: number, stop: number): string[] {
    return this.items.slice(this.head + start, this.head + stop + 1);
  }

  /** Removes one occurrence of `id`, searching from the tail as LREM does from the list's left end; true if found. */
  remove(id: string): boolean {
    for (let i = this.items.length - 1; i >= this.head; i--) {
      if (this.items[i] === id) {
        this.items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
