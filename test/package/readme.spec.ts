/**
 * README.md's TypeScript snippets compile against the built package (tools/check-readme.ts), and its Quick start
 * runs as written: the four files of the NestJS Quick start, compiled as they stand, boot against a private Redis,
 * run their tasks and stop cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReadme, extractSnippets, formatProblems, type ReadmeCheck } from '../../tools/check-readme.js';
import { spawnRedisServer, type RedisServerProcess } from '../../tools/redis-process.js';
import { TaskInspector } from '../../lib/core/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { childEnv, repoRoot, run } from './packed-app.js';

const QUICK_START = ['src/main.ts', 'src/app.module.ts', 'src/email.tasks.ts', 'src/signup.service.ts'];

let check: ReadmeCheck | undefined;

beforeAll(() => {
  // The snippets resolve `nestjs-taskq` to dist/ through the package's own exports: build it as published.
  run('npm', ['run', 'build'], repoRoot);
  check = checkReadme({ root: repoRoot, emit: true, keep: true });
}, 120_000);

afterAll(() => {
  if (check) rmSync(check.dir, { recursive: true, force: true });
});

describe('README.md', () => {
  it('every TypeScript snippet compiles as written against the built package (ESM, NodeNext, strict)', () => {
    expect(formatProblems('README.md', check?.problems ?? [])).toBe('');
    expect(check?.snippets.map((s) => s.file)).toEqual(expect.arrayContaining([...QUICK_START, 'worker.ts']));
  });

  it('the NestJS Quick start runs as written: signs a user up, runs the handlers, shuts down on SIGTERM', async () => {
    // The Quick start uses the default prefix: a private Redis keeps it away from everyone else's keys.
    const server: RedisServerProcess = await spawnRedisServer();
    const redis = testRedis(server.url);
    const inspector = new TaskInspector({ connection: redis });
    let child: ChildProcess | undefined;
    try {
      const app = spawn(process.execPath, [join(check?.dir ?? '', 'out/src/main.js')], {
        cwd: repoRoot,
        env: { ...process.env, REDIS_URL: server.url, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = app;
      let output = '';
      app.stdout.on('data', (d: Buffer) => (output += d.toString()));
      app.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        app.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const printed = (text: string) =>
        waitFor(() => output.includes(text), text, 20_000).catch((err: unknown) => {
          throw new Error(`${String(err)}; the app printed:\n${output}`);
        });

      // main.ts prints what signup() returns: pdf:render's result, through send().
      await printed("{ url: '/reports/42.pdf' }");
      await printed('welcome mail to user 42, attempt 1');
      // The reminder waits 24 h in the schedule, and the periodic report is registered.
      expect((await inspector.queueInfo('default')).scheduled).toBe(1);
      expect(await redis.hlen('taskq:{default}:cron')).toBe(1);
      // Idle, the server is registered on its three queues; a graceful shutdown takes it off them.
      const queues = ['critical', 'default', 'low'];
      await waitFor(
        async () => (await Promise.all(queues.map((q) => redis.zcard(`taskq:{${q}}:idle`)))).every(Boolean),
        'idle registrations',
      );

      app.kill('SIGTERM');
      // enableShutdownHooks: Nest closes the app, then re-raises the signal to end the process.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
      for (const q of queues) expect(await redis.zcard(`taskq:{${q}}:idle`), q).toBe(0);
      expect(output).not.toMatch(/ERROR|Error:/);
    } finally {
      // A failed run must not leave the app behind.
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await inspector.close();
      redis.disconnect();
      await server.stop();
    }
  });
});

describe('README.md: Testing your app', () => {
  it('its test files pass as written (vitest on the compiled snippets), with REDIS_URL on a closed port', () => {
    const out = join(check?.dir ?? '', 'out');
    // No config of the repo's: the snippets run as a user's project would run them.
    writeFileSync(join(out, 'vitest.config.mjs'), 'export default {};\n');
    const vitest = join(repoRoot, 'node_modules/vitest/vitest.mjs');
    const report = run(
      process.execPath,
      [vitest, 'run', '--root', out],
      repoRoot,
      childEnv({ REDIS_URL: 'redis://127.0.0.1:1', NO_COLOR: '1' }),
    ).replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(report).toMatch(/src\/billing\.spec\.js/);
    expect(report).toMatch(/src\/signup\.e2e\.spec\.js/);
    expect(report).toMatch(/Tests\s+\S*2 passed/);
  }, 120_000);
});

describe('extractSnippets', () => {
  it('takes ts blocks only, names them by their first-line file comment, and places them at their README line', () => {
    const md = [
      '# x', // 1
      '```ts', // 2
      '// src/a.ts: the first', // 3
      'export const a = 1;', // 4
      '```', // 5
      '```bash', // 6
      'npm test', // 7
      '```', // 8
      '```ts', // 9
      'const b = 2;', // 10
      '```', // 11
    ].join('\n');
    expect(extractSnippets(md)).toEqual([
      { file: 'src/a.ts', line: 3, code: '// src/a.ts: the first\nexport const a = 1;' },
      { file: 'snippet-2.ts', line: 10, code: 'const b = 2;' },
    ]);
  });

  it('rejects two blocks naming one file', () => {
    const md = '```ts\n// a.ts\n```\n```ts\n// a.ts\n```';
    expect(() => extractSnippets(md)).toThrow(/second code block names a\.ts/);
  });
});
