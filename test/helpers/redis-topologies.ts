import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort, startPrivateRedis, type PrivateRedisServer } from './redis-server.js';

/**
 * Redis topologies started by a test on free loopback ports: a 3-master Redis Cluster, a TLS-only server and a
 * master watched by one Sentinel. Every handle's `stop()` kills its processes (SIGKILL) and deletes its temp dirs;
 * a start that fails half-way cleans up what it started before rejecting, and processes still alive when the test
 * process exits are killed then.
 */

const run = promisify(execFile);
const HOST = '127.0.0.1';

/** Every redis process started here and not yet stopped: killed when the test process exits, whatever happens. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

/** One redis-server (or sentinel) process with its temp dir. */
interface Proc {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  /** The last lines of its log file (for error messages). */
  logTail(): string;
  /** SIGKILL, wait for the exit, delete the dir. */
  stop(): Promise<void>;
}

async function spawnRedis(port: number, args: string[], dir: string): Promise<Proc> {
  const logfile = join(dir, 'redis.log');
  const child = spawn('redis-server', [...args, '--logfile', logfile], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  // Config errors (e.g. a `tls-port` directive a build without TLS does not know) are printed before the log file
  // is opened: keep the process output too.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = (): string => {
    let log = '';
    try {
      log = readFileSync(logfile, 'utf8');
    } catch {
      // not opened yet
    }
    return `${output}\n${log}`.trim().split('\n').slice(-8).join('\n') || '(no output)';
  };
  const proc: Proc = {
    port,
    dir,
    child,
    logTail,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) =>
        reject(
          new Error(`could not start redis-server (${err.message}); install it, e.g. apt-get install redis-server`),
        ),
      );
      child.once('spawn', () => resolve());
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return proc;
}

/** Polls `probe` (every 50 ms) until it returns true; throws `what` (plus the process log) after `timeoutMs`. */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs: number, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (proc && proc.child.exitCode !== null) {
      throw new Error(`${what}: the process exited with code ${proc.child.exitCode}\n${proc.logTail()}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms: ${what}${reason}${proc ? `\n${proc.logTail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fn` with a short-lived, non-retrying connection to one server. */
async function withProbe<T>(options: RedisOptions, fn: (r: Redis) => Promise<T>): Promise<T> {
  const probe = new Redis({
    host: HOST,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    ...options,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await fn(probe);
  } finally {
    probe.disconnect();
  }
}

async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop().catch(() => undefined)));
}

// ---------------------------------------------------------------------------------------------------------------
// Redis Cluster

/** A Redis Cluster of masters (no replicas) on loopback. */
export interface RedisClusterHandle {
  /** The masters, as ClusterNode entries. */
  readonly nodes: { host: string; port: number }[];
  /** The port of the master that owns `slot`. */
  ownerOf(slot: number): number;
  /** Runs `fn` with a plain (non-cluster) connection to the node on `port`. */
  onNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T>;
  /** Kills every node and deletes the temp dirs. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-servers (persistence off, explicit `cluster-port` so the bus port is free
 * too), joins them with `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok` and knows
 * every master.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'taskq-cluster-'));
      const args = [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-port',
        String(busPort),
        '--cluster-node-timeout',
        '5000',
      ];
      procs.push(await spawnRedis(port, args, dir));
    }
    await Promise.all(
      procs.map((p) =>
        until(
          () => withProbe({ port: p.port }, async (r) => (await r.ping()) === 'PONG'),
          `cluster node ${p.port} answers PING`,
          10_000,
          p,
        ),
      ),
    );
    try {
      await run(
        'redis-cli',
        ['--cluster', 'create', ...procs.map((p) => `${HOST}:${p.port}`), '--cluster-replicas', '0', '--cluster-yes'],
        {
          timeout: 30_000,
        },
      );
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
        cause: err,
      });
    }
    await Promise.all(
      procs.map((p) =>
        until(
          () =>
            withProbe({ port: p.port }, async (r) => {
              const info = (await r.cluster('INFO')) as string;
              if (!/cluster_state:ok/.test(info)) return false;
              const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? 0);
              return known === masters;
            }),
          `cluster node ${p.port} reports cluster_state:ok with ${masters} known nodes`,
          20_000,
          p,
        ),
      ),
    );
    const slots = await withProbe({ port: procs[0].port }, (r) => r.cluster('SLOTS'));
    const ranges = slots.map(([from, to, master]) => ({ from, to, port: Number(master[1]) }));
    return {
      nodes: procs.map((p) => ({ host: HOST, port: p.port })),
      ownerOf(slot: number): number {
        const range = ranges.find((r) => slot >= r.from && slot <= r.to);
        if (!range) throw new Error(`no node owns slot ${slot}`);
        return range.port;
      },
      onNode: (port, fn) => withProbe({ port }, fn),
      stop: () => stopAll(procs),
    };
  } catch (err) {
    await stopAll(procs);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TLS

/** A redis-server that listens on TLS only (`--port 0`). */
export interface TlsRedisHandle {
  /** The TLS port. */
  readonly port: number;
  /** PEM of the CA that signed the server certificate (SAN: DNS:localhost, IP:127.0.0.1). */
  readonly ca: string;
  /** Path of that CA's PEM file (for NODE_EXTRA_CA_CERTS). */
  readonly caFile: string;
  /** Kills the server and deletes the certificates and data dir. */
  stop(): Promise<void>;
}

/** Thrown when redis-server or openssl on this machine cannot serve TLS; the message says why. */
export class TlsUnsupportedError extends Error {}

/** Generates a CA and a server certificate for localhost / 127.0.0.1 into `dir` (EC P-256: fast). */
async function makeCertificates(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  writeFileSync(
    ext,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      caKey,
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=taskq test CA',
    ]);
    await run('openssl', ['req', '-new', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/CN=localhost']);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caFile,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      certFile,
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new TlsUnsupportedError(
      `openssl could not generate test certificates: ${e.message} ${e.stderr ?? ''}`.trim(),
    );
  }
  return { caFile, certFile, keyFile };
}

/**
 * Generates certificates and starts `redis-server --port 0 --tls-port P` (clients need not present a certificate),
 * then waits until a TLS PING verified against the CA answers.
 * @throws TlsUnsupportedError when openssl is missing or redis-server was built without TLS.
 */
export async function startTlsRedis(): Promise<TlsRedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'taskq-tls-'));
  let proc: Proc | undefined;
  try {
    const { caFile, certFile, keyFile } = await makeCertificates(dir);
    const ca = readFileSync(caFile, 'utf8');
    const port = await freePort();
    const args = [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      HOST,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-cert-file',
      certFile,
      '--tls-key-file',
      keyFile,
      '--tls-ca-cert-file',
      caFile,
      '--tls-auth-clients',
      'no',
    ];
    proc = await spawnRedis(port, args, dir);
    const p = proc;
    try {
      await until(
        () => withProbe({ port, tls: { ca } }, async (r) => (await r.ping()) === 'PONG'),
        `TLS redis-server on port ${port} answers PING over TLS`,
        10_000,
        p,
      );
    } catch (err) {
      const log = p.logTail();
      if (
        p.child.exitCode !== null &&
        /tls/i.test(log) &&
        /bad directive|not supported|unrecognized|unknown/i.test(log)
      ) {
        throw new TlsUnsupportedError(`redis-server cannot serve TLS here: ${log.split('\n').slice(-2).join(' | ')}`);
      }
      throw err;
    }
    return { port, ca, caFile, stop: p.stop };
  } catch (err) {
    if (proc) await proc.stop();
    else rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Whether TLS tests can run here: starts (and stops) a TLS server once. `reason` says why not.
 */
export async function probeTlsSupport(): Promise<{ supported: boolean; reason: string }> {
  try {
    const server = await startTlsRedis();
    await server.stop();
    return { supported: true, reason: '' };
  } catch (err) {
    if (err instanceof TlsUnsupportedError) return { supported: false, reason: err.message };
    // Anything else (a port race, a slow machine) is not "unsupported": let the test start its own and fail loudly.
    return { supported: true, reason: '' };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sentinel

/** A master redis-server watched by one Sentinel. */
export interface SentinelHandle {
  /** The master (a plain private server). */
  readonly master: PrivateRedisServer;
  /** The Sentinel's port. */
  readonly sentinelPort: number;
  /** The monitored master's name. */
  readonly name: string;
  /** Kills the Sentinel and the master, deletes their dirs. */
  stop(): Promise<void>;
}

/**
 * Starts a master and `redis-server sentinel.conf --sentinel` monitoring it (quorum 1), and waits until the
 * Sentinel resolves the master's address.
 */
export async function startSentinel(name = 'mymaster'): Promise<SentinelHandle> {
  const master = await startPrivateRedis();
  let sentinel: Proc | undefined;
  try {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'taskq-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    // Sentinel rewrites its config file, so it lives in the (writable) temp dir.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} ${HOST} ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 5000`,
        '',
      ].join('\n'),
    );
    sentinel = await spawnRedis(port, [conf, '--sentinel'], dir);
    const s = sentinel;
    await until(
      () =>
        withProbe({ port }, async (r) => {
          const addr = (await r.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
          return Array.isArray(addr) && addr[0] === HOST && Number(addr[1]) === master.port;
        }),
      `sentinel on port ${port} resolves ${name} to ${HOST}:${master.port}`,
      10_000,
      s,
    );
    return {
      master,
      sentinelPort: port,
      name,
      stop: async () => {
        await s.stop();
        await master.stop();
      },
    };
  } catch (err) {
    await sentinel?.stop();
    await master.stop();
    throw err;
  }
}
