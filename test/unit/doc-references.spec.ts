import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * The code and the docs cite only files that ship with the repository: notes kept outside it (design notes, an API
 * contract) are not there for a reader of the package.
 */
describe('references to documents', () => {
  it('every .md file a comment of lib/ names exists (from the repo root or next to the file)', () => {
    const missing = tsFiles('lib').flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/[\w./-]+\.md\b/g)]
        .map((m) => m[0])
        .filter((cited) => !existsSync(cited) && !existsSync(join(dirname(file), cited)))
        .map((cited) => `${file}: ${cited}`),
    );
    expect(missing).toEqual([]);
  });

  it('every relative link of README.md and docs/*.md points to a file of the repo', () => {
    const docs = ['README.md', ...readdirSync('docs').map((f) => join('docs', f))].filter((f) => f.endsWith('.md'));
    const missing = docs.flatMap((doc) =>
      [...readFileSync(doc, 'utf8').matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1])
        .filter((target) => !/^[a-z]+:/.test(target) && !existsSync(join(dirname(doc), target)))
        .map((target) => `${doc}: ${target}`),
    );
    expect(missing).toEqual([]);
  });
});
