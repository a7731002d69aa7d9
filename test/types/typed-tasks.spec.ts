import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const FIXTURE = 'test/types/fixtures/typed-tasks.ts';

/** Each `// error: <text>` comment expects a compile error on the next line whose message contains <text>. */
function expectedErrors(source: string): Map<number, string> {
  const expected = new Map<number, string>();
  source.split('\n').forEach((line, i) => {
    const m = /^\s*\/\/ error: (.+)$/.exec(line);
    if (m) expected.set(i + 2, m[1].trim());
  });
  return expected;
}

/** tsc on the fixture with the repo's own compiler options: the errors, by 1-based line. */
function compileErrors(file: string): Map<number, string[]> {
  const config = ts.readConfigFile('tsconfig.base.json', (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, process.cwd());
  const program = ts.createProgram([file], { ...options, noEmit: true });
  const errors = new Map<number, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    errors.set(where, [...(errors.get(where) ?? []), `${d.file?.fileName ?? ''}: ${text}`]);
  }
  return errors;
}

describe('typed task definitions (tsc on a fixture that must not compile)', () => {
  it('a wrong payload or result does not compile; the right ones do', () => {
    const expected = expectedErrors(readFileSync(FIXTURE, 'utf8'));
    expect(expected.size).toBeGreaterThanOrEqual(9);
    const errors = compileErrors(FIXTURE);
    // Every error is one the fixture expects (the valid usages compile), with the expected message...
    const unexpected = [...errors].filter(([line]) => !expected.has(line));
    expect(unexpected).toEqual([]);
    for (const [line, text] of expected) {
      const found = errors.get(line) ?? [];
      expect(found.length, `line ${line}: expected an error containing "${text}"`).toBeGreaterThan(0);
      expect(found.join('\n'), `line ${line}`).toContain(text);
    }
  }, 60_000);
});
