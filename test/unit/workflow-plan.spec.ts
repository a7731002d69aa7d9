import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../lib/core/broker/codec.js';
import { chain, chord, group, task } from '../../lib/core/workflow/flow.js';
import { nodeInput, parseNodeInfo, formatNodeInfo } from '../../lib/core/workflow/node-info.js';
import { compilePlan, evaluate, type ResultExpr } from '../../lib/core/workflow/plan.js';
import {
  isPrebuiltStep,
  prebuiltItem,
  prebuiltStep,
  stepItem,
  stepMessage,
} from '../../lib/core/workflow/step-message.js';
import { resolveEnqueueOptions } from '../../lib/core/enqueue-options.js';

const json = { encode: (v: unknown) => v, decode: (v: unknown) => v };
const NOW = Date.UTC(2030, 0, 1);

describe('compilePlan', () => {
  it('a chord: members are first steps with a message and no template; the callback waits as a template', () => {
    const plan = compilePlan(chord([task('a', 1), task('a', 2), task('a', 3)], task('cb', { x: 1 })), json, NOW);
    expect(plan.nodes.map((n) => [n.index, n.type, n.deps])).toEqual([
      [0, 'a', []],
      [1, 'a', []],
      [2, 'a', []],
      [3, 'cb', [0, 1, 2]],
    ]);
    expect(plan.nodes.slice(0, 3).every((n) => n.template === '' && n.message !== undefined)).toBe(true);
    expect(decodeMessage(plan.nodes[0].message!.encoded)).toMatchObject({ type: 'a', payload: 1, workflow: true });
    // A first step keeps only its own retention (step-message.ts).
    expect(plan.nodes[0].message!.value.retentionMs).toBe(0);
    expect(plan.nodes[3].message).toBeUndefined();
    expect(JSON.parse(plan.nodes[3].template)).toEqual({ t: 'cb', p: { x: 1 }, o: {} });
    // A group of single tasks is a run: a few bytes whatever its size.
    expect(plan.nodes[3].input).toEqual({ s: 0, n: 3 });
    expect(plan.result).toEqual({ r: 3 });
  });

  it('first steps of one type and options share one encoded frame: each message equals its whole encoding', () => {
    const options = { queue: 'q', headers: { 'x-a': 'b' }, maxRetry: 3, timeout: '1m' };
    const payloads = [{ a: 1, s: 'é"\n\u0000' }, 'text', 0, null, [1, { b: [] }], { toJSON: () => 'j' }];
    const plan = compilePlan(group(...payloads.map((p) => task('t', p, options))), json, NOW);
    for (const node of plan.nodes) {
      const whole = encodeMessage(
        stepMessage({
          type: 't',
          payload: node.payload,
          options: node.options,
          previous: undefined,
          workflowRetentionMs: 0,
          member: true,
          now: NOW,
        }),
      );
      expect(node.message!.encoded).toBe(whole);
      expect(decodeMessage(node.message!.encoded).payload).toEqual(JSON.parse(JSON.stringify(node.payload)));
    }
    // A unique step is encoded whole, with its own digest.
    const unique = compilePlan(
      group(task('u', { n: 1 }, { unique: '1h' }), task('u', { n: 2 }, { unique: '1h' })),
      json,
      NOW,
    );
    const digests = unique.nodes.map((n) => decodeMessage(n.message!.encoded).uniqueDigest);
    expect(new Set(digests).size).toBe(2);
  });

  it('a group of chains is not a run: the array of each chain’s last result', () => {
    const plan = compilePlan(group(chain(task('a'), task('b')), chain(task('c'), task('d'))), json, NOW);
    expect(plan.result).toEqual({ a: [{ r: 1 }, { r: 3 }] });
    const single = compilePlan(group(task('a')), json, NOW);
    expect(single.result).toEqual({ a: [{ r: 0 }] });
  });

  it('evaluates every form in member order; a missing result reads as null', () => {
    const results = new Map<number, unknown>([
      [0, 'x'],
      [1, 'y'],
      [3, 'w'],
    ]);
    const expr: ResultExpr = { a: [{ s: 0, n: 3 }, { r: 3 }] };
    expect(evaluate(expr, results)).toEqual([['x', 'y', null], 'w']);
    expect(evaluate(undefined, results)).toBeUndefined();
  });

  it('nested: a chain of groups of chains wires each step to the right inputs', () => {
    const plan = compilePlan(
      chain(group(chain(task('a'), task('b')), task('c')), group(task('d'), task('e')), task('f')),
      json,
      NOW,
    );
    const byType = Object.fromEntries(plan.nodes.map((n) => [n.type, n]));
    expect(byType.b.input).toEqual({ r: 0 });
    // b and c are tasks 1 and 2: consecutive, so a run as well.
    expect(byType.d.input).toEqual({ s: 1, n: 2 });
    expect(byType.f.input).toEqual({ s: 3, n: 2 });
  });
});

describe('node info', () => {
  it('round-trips, and nodeInput reads only the input', () => {
    const raw = formatNodeInfo({ type: 't', queue: 'q', dependents: [3, 4], input: { s: 0, n: 2 } });
    expect(parseNodeInfo(raw)).toEqual({ type: 't', queue: 'q', dependents: [3, 4], input: { s: 0, n: 2 } });
    expect(nodeInput(raw)).toEqual({ s: 0, n: 2 });
    expect(nodeInput(formatNodeInfo({ type: 't', queue: 'q', dependents: [] }))).toBeUndefined();
    expect(nodeInput('garbage\t\t\t{')).toBeUndefined();
  });
});

describe('prebuilt first steps', () => {
  it('round-trip with a delay and a unique lock', () => {
    const options = resolveEnqueueOptions({ processIn: '1m', unique: '1h', queue: 'q' }, NOW);
    const message = stepMessage({
      type: 'mail',
      payload: { to: 'a' },
      options,
      previous: undefined,
      workflowRetentionMs: 0,
      member: true,
      now: NOW,
    });
    const item = stepItem(
      'wf.0',
      message,
      JSON.stringify({ t: 'mail', s: NOW, p: { to: 'a' }, u: message.uniqueDigest, g: 1 }),
      options,
    );
    const line = prebuiltStep(item);
    expect(isPrebuiltStep(line)).toBe(true);
    expect(isPrebuiltStep('{"t":"x"}')).toBe(false);
    expect(prebuiltItem('wf.0', line)).toEqual(item);
    expect(item.processAtMs).toBe(NOW + 60_000);
    expect(item.unique).toEqual({ type: 'mail', digest: message.uniqueDigest, ttlMs: 3_600_000 });
  });
});
