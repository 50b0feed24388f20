/**
 * Summary of a V8 CPU profile (.cpuprofile, as node:inspector's Profiler.stop returns it):
 * self time by area (a package under node_modules, a folder of ours, a Node built-in, GC, idle;
 * native code counts for the area that called it)
 * and by function, and inclusive time of the functions of ours that name pipeline stages.
 * Also runnable on its own: node --import tsx test/bench/pipeline/cpu-profile.ts FILE.cpuprofile
 */
import { readFileSync } from 'node:fs';
import type { Profiler, Runtime } from 'node:inspector';
import { fileURLToPath } from 'node:url';

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly byArea: ReadonlyArray<readonly [string, number]>;
  readonly byFunction: ReadonlyArray<readonly [string, number]>;
  readonly inclusive: ReadonlyArray<readonly [string, number]>;
}

function area(frame: Runtime.CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(appliance|provisioning|test)\/(.+?)(?:\/[^/]+)?$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return url;
  return url.slice(url.lastIndexOf('/') + 1);
}

function where(frame: Runtime.CallFrame): string {
  const file = frame.url.slice(frame.url.lastIndexOf('/') + 1);
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
}

/** Functions of ours whose inclusive time is worth showing: the pipeline's stages. */
const STAGES = [
  'openMessage',
  'sealMessage',
  'parsePruemDna',
  'answerDnaRequest',
  'writePruemDna',
  'buildMailMessage',
  'append',
  'receive',
  'decrypt',
  'sign',
  'send',
];

export function summariseProfile(profile: Profiler.Profile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the gap after a sample to that sample.
    const dt = (deltas[i + 1] ?? 0) / 1000;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + dt);
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  /** Native code (a C++ binding: SQLite, PKCS#11, spawn, X.509) is charged to the JS area that called it. */
  const caller = (id: number): string => {
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame?.url) return area(frame);
    }
    return '?';
  };
  for (const [id, t] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += t;
    if (node.callFrame.functionName === '(idle)') idle += t;
    const native = !node.callFrame.url && !node.callFrame.functionName.startsWith('(');
    const a = native ? `${caller(id)} (native)` : area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + t);
    const f = `${where(node.callFrame)} [${a}]`;
    functions.set(f, (functions.get(f) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame || !frame.url.includes('/appliance/') || !STAGES.includes(frame.functionName)) continue;
      const key = `${frame.functionName} (${area(frame)})`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
  const sorted = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { totalMs: total, idleMs: idle, byArea: sorted(areas, top), byFunction: sorted(functions, top), inclusive: sorted(inclusive, top) };
}

export function formatSummary(s: ProfileSummary, perRequest: number): string {
  const busy = s.totalMs - s.idleMs;
  const line = ([name, t]: readonly [string, number]) =>
    `  ${(t / perRequest).toFixed(2).padStart(7)} ms/req  ${((t / busy) * 100).toFixed(1).padStart(5)} %  ${name}`;
  return [
    `profiled ${Math.round(s.totalMs)} ms, of which idle ${Math.round(s.idleMs)} ms; shares below are of the ${Math.round(busy)} ms busy`,
    'self time by area:',
    ...s.byArea.filter(([n]) => n !== '(idle)').map(line),
    'self time by function:',
    ...s.byFunction.filter(([n]) => !n.startsWith('(idle)')).map(line),
    'inclusive time of pipeline functions:',
    ...s.inclusive.map(line),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpu-profile.ts FILE.cpuprofile [requests]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profiler.Profile;
  console.log(formatSummary(summariseProfile(profile, 25), Number(process.argv[3] ?? 1)));
}
