import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../lib/core/broker/codec.js';
import { InvalidCronspecError } from '../../lib/core/periodic/cron.js';
import { InvalidOptionError } from '../../lib/core/errors.js';
import {
  CorruptEntryError,
  decodeDefinition,
  parseState,
  resolvePeriodicEntry,
  type EntryDefinition,
} from '../../lib/core/periodic/entry.js';
import { fireMessage, fireMessageBuilder } from '../../lib/core/periodic/fire-message.js';
import { JSON_CODEC } from '../../lib/core/payload-codec.js';

const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('periodic entries', () => {
  it('resolves options, derives a stable default id and a byte-stable stored form', () => {
    const a = resolvePeriodicEntry(
      ' @every 30s ',
      'report',
      { x: 1 },
      { maxRetry: 2, timeout: '1m', tz: 'Europe/Berlin' },
      JSON_CODEC,
      NOW,
    );
    const b = resolvePeriodicEntry(
      '@every 30s',
      'report',
      { x: 1 },
      { maxRetry: 2, timeout: '1m', tz: 'Europe/Berlin' },
      JSON_CODEC,
      NOW,
    );
    expect(a.definition).toMatchObject({
      spec: '@every 30s',
      type: 'report',
      queue: 'default',
      tz: 'Europe/Berlin',
      maxRetry: 2,
      timeoutMs: 60_000,
    });
    expect(a.definition.id).toBe(b.definition.id);
    expect(a.json).toBe(b.json);
    // Options other than the queue do not change the default id: re-registering with new options updates in place.
    const c = resolvePeriodicEntry('@every 30s', 'report', { x: 1 }, { maxRetry: 5 }, JSON_CODEC, NOW);
    expect(c.definition.id).toBe(a.definition.id);
    const d = resolvePeriodicEntry('@every 30s', 'report', { x: 2 }, {}, JSON_CODEC, NOW);
    expect(d.definition.id).not.toBe(a.definition.id);
    const e = resolvePeriodicEntry('@every 30s', 'report', { x: 1 }, { queue: 'q2' }, JSON_CODEC, NOW);
    expect(e.definition.id).not.toBe(a.definition.id);
    expect(decodeDefinition(a.definition.id, 'default', a.json).definition).toEqual(a.definition);
  });

  it('rejects options that cannot repeat, and bad specs, before anything else', () => {
    expect(() => resolvePeriodicEntry('* * * * *', 'x', null, { taskId: 'a' }, JSON_CODEC, NOW)).toThrow(
      InvalidOptionError,
    );
    expect(() => resolvePeriodicEntry('* * * * *', 'x', null, { deadline: new Date() }, JSON_CODEC, NOW)).toThrow(
      /deadline/,
    );
    expect(() => resolvePeriodicEntry('* * * * *', 'x', null, { processAt: new Date() }, JSON_CODEC, NOW)).toThrow(
      /processIn/,
    );
    expect(() => resolvePeriodicEntry('* * * * *', 'x', null, { nope: 1 } as never, JSON_CODEC, NOW)).toThrow(
      /unknown option/,
    );
    expect(() => resolvePeriodicEntry('* * *', 'x', null, {}, JSON_CODEC, NOW)).toThrow(InvalidCronspecError);
    expect(() => resolvePeriodicEntry('* * * * *', 'x', null, { id: 'has space' }, JSON_CODEC, NOW)).toThrow(/id/);
    expect(resolvePeriodicEntry('* * * * *', 'x', null, { id: 'report:daily' }, JSON_CODEC, NOW).definition.id).toBe(
      'report:daily',
    );
  });

  it('the message template builds exactly what a full encoding builds', () => {
    const defs: EntryDefinition[] = [
      resolvePeriodicEntry('@every 1s', 'a', { n: 1 }, {}, JSON_CODEC, NOW).definition,
      resolvePeriodicEntry(
        '@every 1s',
        'b',
        undefined,
        { maxRetry: 0, retention: '1h', headers: { t: 'x"y' } },
        JSON_CODEC,
        NOW,
      ).definition,
      resolvePeriodicEntry('@every 1s', 'c', '"s":-987654321', { processIn: '5s' }, JSON_CODEC, NOW).definition,
      resolvePeriodicEntry('@every 1s', 'd', { deep: ['\u0001taskq-fire\u0001'] }, {}, JSON_CODEC, NOW).definition,
    ];
    for (const d of defs) {
      const build = fireMessageBuilder(d);
      for (const [fire, at] of [
        [NOW + 1000, 0],
        [NOW + 2000, NOW + 7000],
      ]) {
        expect(build(fire, at)).toBe(fireMessage(d, fire, at));
        const m = decodeMessage(build(fire, at));
        expect(m.headers['taskq-fire-time']).toBe(new Date(fire).toISOString());
        expect(m.headers['taskq-periodic-id']).toBe(d.id);
        expect(m.readyAt).toBe(at || fire);
      }
    }
  });

  it('reports corrupt stored entries with the reason', () => {
    expect(() => decodeDefinition('x', 'default', '{')).toThrow(CorruptEntryError);
    expect(() => decodeDefinition('x', 'default', '{"v":2}')).toThrow(/version/);
    const ok = resolvePeriodicEntry('@daily', 't', null, { id: 'x' }, JSON_CODEC, NOW).json;
    expect(() => decodeDefinition('x', 'other', ok)).toThrow(/queue/);
    expect(() => decodeDefinition('x', 'default', ok.replace('@daily', '@sometimes'))).toThrow(/unknown descriptor/);
  });

  it('parses fire state', () => {
    expect(parseState('3:1700000000000:1699999999000:abc')).toEqual({
      rev: 3,
      floor: 1700000000000,
      prevFire: 1699999999000,
      lastTaskId: 'abc',
    });
    expect(parseState('1:5:0:')).toEqual({ rev: 1, floor: 5, prevFire: 0, lastTaskId: '' });
    expect(parseState('garbage')).toBeUndefined();
    expect(parseState(null)).toBeUndefined();
  });
});
