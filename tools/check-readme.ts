/**
 * Type-checks every TypeScript code block of README.md against the built package, the way an app that copies them
 * would compile them: ESM (`"type": "module"`), `module: nodenext`, `strict`, Nest's decorator settings, with the
 * imports the snippet shows and nothing else. A doc that does not compile is a bug.
 *
 * A block whose first line is a comment naming a file (`// src/app.module.ts: ...`) is written to that path, so the
 * Quick start's files can import each other (`./app.module.js`); any other block gets a file of its own. The
 * snippets live in `.readme-check/` at the package root: from there `nestjs-taskq` resolves to the package itself
 * through its `exports` (self-reference), as it would from node_modules, and `@nestjs/*` from the repo's node_modules.
 *
 * CLI: `npm run check:readme` (builds the package first). Prints one line per error, at the README's line.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** One TypeScript code block of the README. */
export interface Snippet {
  /** Path of the file it is compiled as, relative to the snippets directory (`src/main.ts`, `snippet-3.ts`). */
  readonly file: string;
  /** 1-based line of the README where the code starts (the line after the fence). */
  readonly line: number;
  readonly code: string;
}

/** A compile error, placed back at its README line. */
export interface SnippetProblem {
  /** The snippet's file, or undefined for an error no snippet can be blamed for (a bad option, a missing package). */
  readonly file: string | undefined;
  /** 1-based README line of the error. */
  readonly line: number;
  /** tsc's message, `error TS2304: Cannot find name 'x'.` */
  readonly message: string;
}

/** What {@link checkReadme} found. */
export interface ReadmeCheck {
  readonly snippets: readonly Snippet[];
  readonly problems: readonly SnippetProblem[];
  /** The directory the snippets were written to (and compiled into `out/` when `emit`); removed unless `keep`. */
  readonly dir: string;
}

/** Options of {@link checkReadme}. */
export interface CheckReadmeOptions {
  /** The package root: its package.json must have `exports` and the package must be built. @defaultValue cwd */
  root?: string;
  /** The Markdown file, relative to `root`. @defaultValue `'README.md'` */
  readme?: string;
  /** Also emit JavaScript into `<dir>/out/`, to run a snippet. @defaultValue false */
  emit?: boolean;
  /** Keep the snippets directory afterwards (the caller removes it). @defaultValue false */
  keep?: boolean;
}

const FENCE = /^```(ts|typescript|mts)\s*$/;
const FILE_COMMENT = /^\/\/\s*((?:[\w.-]+\/)*[\w.-]+\.m?ts)\b/;

/** The TypeScript code blocks of a Markdown text, in order. */
export function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i].trim())) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    const code = lines.slice(start, end).join('\n');
    const named = FILE_COMMENT.exec(lines[start] ?? '')?.[1];
    const file = named ?? `snippet-${snippets.length + 1}.ts`;
    // Two blocks naming one file would silently overwrite each other: that is a doc bug too.
    if (taken.has(file)) throw new Error(`README line ${start + 1}: a second code block names ${file}`);
    taken.add(file);
    snippets.push({ file, line: start + 1, code });
    i = end;
  }
  return snippets;
}

/**
 * The compiler options of the check: those of `nest new`'s ESM template (Nest 12) with `strict` on, and no
 * unused-variable checks (a snippet may show a value it does not use).
 */
export const SNIPPET_COMPILER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'ES2023',
  lib: ['ES2023'],
  types: ['node'],
  strict: true,
  isolatedModules: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  skipLibCheck: true,
  forceConsistentCasingInFileNames: true,
} as const;

/** Writes the README's snippets next to the package, compiles them with tsc, and maps the errors back. */
export function checkReadme(options: CheckReadmeOptions = {}): ReadmeCheck {
  const root = resolve(options.root ?? process.cwd());
  const readme = options.readme ?? 'README.md';
  const snippets = extractSnippets(readFileSync(join(root, readme), 'utf8'));
  // Under the package root (for self-reference) and outside node_modules (where Node and tsc stop looking for it).
  const dir = join(root, '.readme-check');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    for (const s of snippets) {
      mkdirSync(dirname(join(dir, s.file)), { recursive: true });
      writeFileSync(join(dir, s.file), `${s.code}\n`);
    }
    const compilerOptions = options.emit
      ? { ...SNIPPET_COMPILER_OPTIONS, outDir: 'out', rootDir: '.' }
      : { ...SNIPPET_COMPILER_OPTIONS, noEmit: true };
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions, files: snippets.map((s) => s.file) }, null, 2),
    );
    const problems = parseTscOutput(runTsc(root, dir), snippets);
    return { snippets, problems, dir };
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function runTsc(root: string, dir: string): string {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
    return '';
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    const out = `${stdout ?? ''}${stderr ?? ''}`;
    if (!out.trim()) throw err;
    return out;
  }
}

/** tsc prints `file(line,col): error TSnnnn: message`, with continuation lines indented. */
function parseTscOutput(out: string, snippets: readonly Snippet[]): SnippetProblem[] {
  const problems: SnippetProblem[] = [];
  const byFile = new Map(snippets.map((s) => [s.file, s]));
  for (const row of out.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(row);
    if (m) {
      const snippet = byFile.get(m[1].replace(/\\/g, '/'));
      if (snippet) problems.push({ file: snippet.file, line: snippet.line + Number(m[2]) - 1, message: m[4] });
      else problems.push({ file: undefined, line: 0, message: row });
    } else if (row.startsWith(' ') && problems.length > 0) {
      const last = problems[problems.length - 1];
      problems[problems.length - 1] = { ...last, message: `${last.message}\n${row}` };
    } else if (row.trim()) {
      // A global error (a bad option, a missing package): no snippet to blame.
      problems.push({ file: undefined, line: 0, message: row });
    }
  }
  return problems;
}

/** `README.md:123 (src/main.ts): error TS2304: ...`, one per problem. */
export function formatProblems(readme: string, problems: readonly SnippetProblem[]): string {
  return problems.map((p) => (p.file ? `${readme}:${p.line} (${p.file}): ${p.message}` : p.message)).join('\n');
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  // dist-dev/tools/check-readme.js → the repo root is two levels up.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const { snippets, problems } = checkReadme({ root });
  if (problems.length > 0) {
    console.error(formatProblems('README.md', problems));
    console.error(`${problems.length} error(s) in ${snippets.length} TypeScript snippets of README.md`);
    process.exit(1);
  }
  console.log(`${snippets.length} TypeScript snippets of README.md compile`);
}
