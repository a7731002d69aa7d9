import { describe, expect, it } from 'vitest';
import { PendingList } from '../../lib/core/broker/memory/pending-list.js';
import { SortedSet } from '../../lib/core/broker/memory/sorted-set.js';

describe.each([false, true])('SortedSet (lazy: %s)', (lazy) => {
  it('orders by score, then by member, as a Redis ZSET does', () => {
    const set = new SortedSet(lazy);
    set.add('b', 2);
    set.add('c', 1);
    set.add('a', 2);
    set.add('d', 0.5);
    expect(set.all().map((e) => e.member)).toEqual(['d', 'c', 'a', 'b']);
    set.add('d', 3); // a new score moves the member
    expect(set.all().map((e) => [e.member, e.score])).toEqual([
      ['c', 1],
      ['a', 2],
      ['b', 2],
      ['d', 3],
    ]);
    expect(set.size).toBe(4);
    expect(set.first()).toEqual({ member: 'c', score: 1 });
  });

  it('reads by score (inclusive, limited) and by rank (forward and reverse); removes', () => {
    const set = new SortedSet(lazy);
    for (const [m, s] of [
      ['x', 10],
      ['y', 20],
      ['z', 30],
      ['w', 20],
    ] as const)
      set.add(m, s);
    expect(set.upTo(20).map((e) => e.member)).toEqual(['x', 'w', 'y']);
    expect(set.upTo(20, 2).map((e) => e.member)).toEqual(['x', 'w']);
    expect(set.upTo(9)).toEqual([]);
    expect(set.range(1, 2).map((e) => e.member)).toEqual(['w', 'y']);
    expect(set.range(0, 1, true).map((e) => e.member)).toEqual(['z', 'y']);
    expect(set.range(5, 9)).toEqual([]);
    expect(set.remove('w')).toBe(true);
    expect(set.remove('w')).toBe(false);
    expect(set.score('w')).toBeUndefined();
    expect(set.score('y')).toBe(20);
    expect(set.all().map((e) => e.member)).toEqual(['x', 'y', 'z']);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.first()).toBeUndefined();
  });
});

describe('PendingList', () => {
  it('serves in queue order: appended at the tail, taken and given back at the head', () => {
    const list = new PendingList();
    list.pushTail(['a', 'b', 'c']);
    expect(list.popHead(2)).toEqual(['a', 'b']);
    list.pushHead('b');
    list.pushHead('a');
    expect(list.peek()).toBe('a');
    expect(list.slice(0, 10)).toEqual(['a', 'b', 'c']);
    expect(list.remove('b')).toBe(true);
    expect(list.remove('nope')).toBe(false);
    expect(list.popHead(10)).toEqual(['a', 'c']);
    expect(list.size).toBe(0);
    expect(list.popHead(1)).toEqual([]);
  });

  it('keeps its order across many takes (the taken slots are dropped as it goes)', () => {
    const list = new PendingList();
    const ids = Array.from({ length: 5000 }, (_, i) => `t${i}`);
    list.pushTail(ids);
    const taken: string[] = [];
    while (list.size > 0) taken.push(...list.popHead(7));
    expect(taken).toEqual(ids);
  });
});
