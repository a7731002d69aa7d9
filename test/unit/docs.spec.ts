import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../lib/core/broker/codec.js';
import { GlobalKeys, QueueKeys } from '../../lib/core/broker/redis/keys.js';

const architecture = readFileSync('docs/architecture.md', 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [relative('lib', join(dir, e.name))],
  );
}

/** docs/architecture.md stays the map of the tree: a file, a key or a message field it does not list is a doc bug. */
describe('docs/architecture.md', () => {
  it('lists every file of lib/', () => {
    const missing = files('lib').filter((f) => {
      const name = f.split('/').pop() ?? f;
      return f.endsWith('.lua')
        ? !architecture.includes(name)
        : !new RegExp(`(^|\\s)${name.replace('.', '\\.')}\\s`, 'm').test(architecture);
    });
    expect(missing).toEqual([]);
  });

  it('lists every key', () => {
    const q = new QueueKeys('<prefix>', '<q>');
    const g = new GlobalKeys('<prefix>');
    const keys = [
      ...Object.values(q).filter((v): v is string => typeof v === 'string' && v.startsWith('<prefix>:{')),
      q.ownWake('<workerId>'),
      q.unique('<type>', '<digest>'),
      ...Object.values(g).filter((v): v is string => typeof v === 'string' && v.startsWith('<prefix>:')),
    ].filter((k) => k !== q.base);
    const schema = architecture.slice(architecture.indexOf('## Key schema'), architecture.indexOf('## State machine'));
    const missing = keys.filter((k) => {
      const tail = k.replace('<prefix>:{<q>}', '');
      return !schema.includes(`\`${k}\``) && !schema.includes(`\`${tail}\``) && !schema.includes(`${tail}\``);
    });
    expect(missing).toEqual([]);
    expect(schema).toContain(':processed:<YYYY-MM-DD>');
  });

  it('lists every field of the task message', () => {
    const full = JSON.parse(
      encodeMessage({
        type: 't',
        payload: 1,
        readyAt: 1,
        maxRetry: 1,
        retried: 1,
        timeoutMs: 1,
        deadlineMs: 1,
        uniqueDigest: 'u',
        retentionMs: 1,
        headers: { a: 'b' },
        lastError: 'e',
        lastFailedAt: 1,
        completedAt: 1,
        result: 1,
        awaited: true,
        workflow: true,
        previous: 1,
        checkpoint: { step: 0, output: 1 },
      }),
    ) as Record<string, unknown>;
    const section = architecture.slice(
      architecture.indexOf('### Task message'),
      architecture.indexOf('## State machine'),
    );
    const missing = [...Object.keys(full), 'v'].filter((field) => !section.includes(`\`${field}\``));
    expect(missing).toEqual([]);
  });
});
