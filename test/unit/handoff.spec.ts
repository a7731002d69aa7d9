import { describe, expect, it } from 'vitest';
import { handoffMember, parseHandoff } from '../../lib/core/broker/redis/handoff.js';

describe('hand-off members', () => {
  it('round-trips ids with colons and digits and messages with anything in them', () => {
    for (const h of [
      { id: 'abc', leaseScore: '1796108833524', message: '{"t":"x","s":1}' },
      { id: '12:34', leaseScore: '5', message: 'a:b:c' },
      { id: 'x'.repeat(256), leaseScore: '1796108833524', message: '' },
      { id: 'é ü', leaseScore: '1', message: '{"p":"h3:ab"}' },
    ]) {
      expect(parseHandoff(handoffMember(h))).toEqual(h);
    }
    expect(handoffMember({ id: 'abc', leaseScore: '17', message: '{}' })).toBe('h3:abc17:{}');
  });

  it('rejects markers and malformed members', () => {
    for (const m of [
      'p',
      'd',
      'h',
      'h:',
      'hx:abc1:{}',
      'h0::1:{}',
      'h3:abc',
      'h3:abc12',
      'h3:abc1.5:{}',
      'h9:abc1:{}',
    ]) {
      expect(parseHandoff(m), m).toBeUndefined();
    }
  });
});
