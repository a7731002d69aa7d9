import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every lib/ file a module imports, transitively (relative imports only: what the package ships). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      const spec = m[1] ?? m[2];
      const target = normalize(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      if (existsSync(target)) visit(target);
    }
  };
  visit(entry);
  return seen;
}

describe('entry points', () => {
  it('the main entry points never load the testing kit', () => {
    for (const entry of ['lib/index.ts', 'lib/core/index.ts', 'lib/nest/index.ts']) {
      const files = [...reachable(entry)];
      expect(files.length, entry).toBeGreaterThan(5);
      expect(
        files.filter((f) => f.startsWith('lib/testing/')),
        entry,
      ).toEqual([]);
    }
    // ...while nestjs-taskq/testing does reach the kit and the in-memory backend.
    const testing = reachable('lib/testing/index.ts');
    expect(testing.has('lib/testing/test-harness.ts')).toBe(true);
    expect(testing.has('lib/core/broker/memory/memory-broker.ts')).toBe(true);
  });
});
