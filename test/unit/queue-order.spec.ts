import { describe, expect, it } from 'vitest';
import { strictOrder, weightedOrder } from '../../lib/core/processing/queue-order.js';

const queues = [
  { name: 'low', weight: 1 },
  { name: 'critical', weight: 6 },
  { name: 'default', weight: 3 },
];

describe('queue order', () => {
  it('strict: highest weight first', () => {
    expect(strictOrder(queues)).toEqual(['critical', 'default', 'low']);
  });

  it('weighted: every queue once, the first chosen in proportion to its weight', () => {
    const firsts = new Map<string, number>();
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 10_000; i++) {
      const order = weightedOrder(queues, random);
      expect([...order].sort()).toEqual(['critical', 'default', 'low']);
      firsts.set(order[0], (firsts.get(order[0]) ?? 0) + 1);
    }
    expect((firsts.get('critical') ?? 0) / 10_000).toBeCloseTo(0.6, 1);
    expect((firsts.get('default') ?? 0) / 10_000).toBeCloseTo(0.3, 1);
    expect((firsts.get('low') ?? 0) / 10_000).toBeCloseTo(0.1, 1);
  });

  it('weighted: a random value at the top of its range still picks a queue', () => {
    expect(weightedOrder(queues, () => 0.9999999)).toHaveLength(3);
  });
});
