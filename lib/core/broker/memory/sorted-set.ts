/** One member of a {@link SortedSet}. */
export interface Scored {
  member: string;
  score: number;
}

/** Redis's order of a sorted set: by score, then by member (byte order; ids and markers are ASCII). */
function before(a: Scored, b: Scored): boolean {
  return a.score < b.score || (a.score === b.score && a.member < b.member);
}

/**
 * A sorted set as Redis keeps one (ZSET): members ordered by score, then by member. A sorted array beside a map:
 * inserts and removals move memory (fast for the sizes a test or a bench holds), lookups and range reads are cheap.
 * A `lazy` set keeps only the map on writes and sorts when it is next read in order: for a set written on every task
 * and read in order only now and then (the lease set: every claim and acknowledgement, the recoverer every few s).
 */
export class SortedSet {
  private items: Scored[] = [];
  private readonly scores = new Map<string, number>();
  private dirty = false;

  constructor(private readonly lazy = false) {}

  get size(): number {
    return this.scores.size;
  }

  /** The member's score, or undefined when it is not a member (ZSCORE). */
  score(member: string): number | undefined {
    return this.scores.get(member);
  }

  has(member: string): boolean {
    return this.scores.has(member);
  }

  /** Adds a member or moves it to a new score (ZADD). */
  add(member: string, score: number): void {
    if (this.lazy) {
      this.scores.set(member, score);
      this.dirty = true;
      return;
    }
    if (this.scores.has(member)) this.remove(member);
    const entry = { member, score };
    this.items.splice(this.insertionIndex(entry), 0, entry);
    this.scores.set(member, score);
  }

  /** Removes a member; true when it was one (ZREM). */
  remove(member: string): boolean {
    const score = this.scores.get(member);
    if (score === undefined) return false;
    if (this.lazy) {
      this.scores.delete(member);
      this.dirty = true;
      return true;
    }
    const i = this.insertionIndex({ member, score });
    this.items.splice(i, 1);
    this.scores.delete(member);
    return true;
  }

  /** The member with the lowest score. */
  first(): Scored | undefined {
    return this.ordered()[0];
  }

  /** Members with a score of at most `max`, lowest first, at most `limit` of them (ZRANGE -inf max BYSCORE LIMIT). */
  upTo(max: number, limit = Number.POSITIVE_INFINITY): Scored[] {
    const out: Scored[] = [];
    for (const item of this.ordered()) {
      if (item.score > max || out.length >= limit) break;
      out.push(item);
    }
    return out;
  }

  /** Members by rank, `start` to `stop` inclusive, lowest first or (`reverse`) highest first (ZRANGE [REV]). */
  range(start: number, stop: number, reverse = false): Scored[] {
    const items = this.ordered();
    const n = items.length;
    if (start >= n || stop < start) return [];
    const end = Math.min(stop, n - 1);
    if (!reverse) return items.slice(start, end + 1);
    const out: Scored[] = [];
    for (let i = start; i <= end; i++) out.push(items[n - 1 - i]);
    return out;
  }

  /** Every member, lowest first. */
  all(): readonly Scored[] {
    return this.ordered();
  }

  /** Removes every member. */
  clear(): void {
    this.items = [];
    this.scores.clear();
    this.dirty = false;
  }

  /** The members in order (a lazy set sorts them now if it was written since). */
  private ordered(): Scored[] {
    if (this.dirty) {
      this.items = [...this.scores].map(([member, score]) => ({ member, score }));
      this.items.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
      this.dirty = false;
    }
    return this.items;
  }

  /** Where `entry` goes (or is) in the order: the first item not before it. */
  private insertionIndex(entry: Scored): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.items[mid], entry)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
