/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, overall and for the functions whose
 * file is under lib/ (our code). Run standalone: `node dist-dev/bench/profile.js <file.cpuprofile> [top]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  fn: string;
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by area: our lib/, node_modules/<package>, node internals, GC, idle, other. */
  byArea: Record<string, number>;
  top: ProfileEntry[];
  topLib: ProfileEntry[];
}

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program';
  if (fn === 'dispatch' && url === '') return 'profiler (Profiler.stop serialising)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (/\/dist-dev\/lib\//.test(url) || /\/lib\/(core|nest)\//.test(url)) return 'nestjs-taskq lib/';
  if (/\/dist-dev\/bench\//.test(url)) return 'bench harness';
  if (url.startsWith('node:') || url === '') return 'node internals / native';
  return 'other';
}

function shortUrl(url: string): string {
  const i = url.indexOf('/dist-dev/');
  if (i >= 0) return url.slice(i + '/dist-dev/'.length);
  const j = url.lastIndexOf('node_modules/');
  if (j >= 0) return url.slice(j + 'node_modules/'.length);
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, topN = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFn = new Map<string, { fn: string; where: string; us: number; lib: boolean }>();
  const byArea: Record<string, number> = {};
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || '(anonymous)';
    const a = area(url, fn);
    byArea[a] = (byArea[a] ?? 0) + us;
    total += us;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${fn}@${where}`;
    const e = byFn.get(key) ?? { fn, where, us: 0, lib: a === 'nestjs-taskq lib/' };
    e.us += us;
    byFn.set(key, e);
  }
  const entries = [...byFn.values()].sort((a, b) => b.us - a.us);
  const toEntry = (e: { fn: string; where: string; us: number }): ProfileEntry => ({
    fn: e.fn,
    where: e.where,
    selfMs: Math.round(e.us / 100) / 10,
    percent: Math.round((1000 * e.us) / total) / 10,
  });
  const areas: Record<string, number> = {};
  for (const [k, v] of Object.entries(byArea).sort((a, b) => b[1] - a[1]))
    areas[k] = Math.round((1000 * v) / total) / 10;
  return {
    totalMs: Math.round(total / 1000),
    byArea: areas,
    top: entries.slice(0, topN).map(toEntry),
    topLib: entries
      .filter((e) => e.lib)
      .slice(0, topN)
      .map(toEntry),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist-dev/bench/profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(JSON.stringify(summarizeProfile(file, Number(process.argv[3] ?? 25)), null, 2));
}
