/**
 * Vehicle channel benchmark: a partner's signed single-State search through our gateway (HTTPS, WS-Security
 * verification against the pinned certificate, replay and authorisation checks, the register over HTTP,
 * the answer signed on the SoftHSM2 token, the Art. 30 record and statistics committed) against a plain
 * unsigned HTTP round trip to the same register, in the same run, at the same offered load.
 *
 *   node --import tsx test/bench/vehicle.ts [--rate 200] [--seconds 10] [--concurrency 16]
 *
 * Target (issue 11): p99 added by the gateway ≤ 50 ms at 200 requests/s. The partner signs its requests
 * before the timed run (its own cost, not ours); latency is from sending the request to the last byte of
 * the answer. Open loop: requests leave on schedule whether or not earlier ones were answered.
 * The register and the gateway run in processes of their own (vehicle-node.ts), as they would in the field.
 */
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { demoVin } from '../../appliance/vehicle/demo-seed.js';
import { keyXmlSigner } from '../../appliance/vehicle/ws-security.js';
import { requestBody, signedAs } from '../vehicle/harness.js';
import type { TestIdentity } from '../vehicle/support.js';
import { numberOption } from './pipeline/figures.js';

const RATE = numberOption('rate', 200);
const SECONDS = numberOption('seconds', 10);
const CONCURRENCY = numberOption('concurrency', 16);
const VEHICLES = 5000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

type Send = (i: number) => Promise<number>;

/** Offered load at `rate`/s for `seconds`; returns latencies (ms) and achieved throughput. */
async function openLoop(send: Send, rate: number, seconds: number): Promise<{ latencies: number[]; rps: number; errors: number }> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    inflight.push(
      send(i).then(
        (status) => {
          if (status === 200) latencies.push(performance.now() - start);
          else errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - t0) / 1000;
  return { latencies: latencies.sort((a, b) => a - b), rps: latencies.length / elapsed, errors };
}

/** A send with nothing left to send (the presigned requests are used up). */
const EXHAUSTED = -1;

/**
 * Closed loop: `concurrency` clients back to back for `seconds`, or until the requests run out; the
 * saturation throughput over the time actually run (a fixed pool of presigned requests must not cap it).
 */
async function closedLoop(send: Send, concurrency: number, seconds: number): Promise<number> {
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let done = 0;
  let i = 0;
  let exhausted = false;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!exhausted && performance.now() < until) {
        const status = await send(i++).catch(() => 0);
        if (status === EXHAUSTED) exhausted = true;
        else if (status === 200) done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

function post(agent: HttpAgent | HttpsAgent, url: string, body: string, type: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts = { method: 'POST', agent, headers: { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }, ...(ca ? { ca } : {}) };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts one bench process and reads the JSON line it prints when ready. */
function startNode(args: string[]): Promise<{ info: Record<string, string>; child: ChildProcess }> {
  // VRD_BENCH_PROF=<dir>: a V8 CPU profile of the gateway (it samples wall time: a thread waiting for a CPU still
  // collects samples); VRD_BENCH_NODE_ARGS: more node options for the gateway, e.g. --perf-basic-prof for `perf`.
  const prof = process.env.VRD_BENCH_PROF && args[0] === 'gateway' ? ['--cpu-prof', '--cpu-prof-dir', process.env.VRD_BENCH_PROF] : [];
  if (process.env.VRD_BENCH_NODE_ARGS && args[0] === 'gateway') prof.push(...process.env.VRD_BENCH_NODE_ARGS.split(' ').filter(Boolean));
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', fileURLToPath(new URL('./vehicle-node.ts', import.meta.url)), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ info: JSON.parse(out.slice(0, nl)) as Record<string, string>, child });
    });
    child.once('exit', (code) => reject(new Error(`bench node ${args[0]} exited ${code}`)));
  });
}

const registerNode = await startNode(['register', String(VEHICLES)]);
const served = { url: registerNode.info.url as string };
const gatewayNode = await startNode(['gateway', served.url]);
const listening = { url: gatewayNode.info.url as string };
const ca = readFileSync(gatewayNode.info.ca as string);
const partnerCert = new X509Certificate(readFileSync(gatewayNode.info.partnerCert as string));
const de = { signer: keyXmlSigner(readFileSync(gatewayNode.info.partnerKey as string, 'utf8'), partnerCert) } as TestIdentity;
const vinOf = (i: number) => demoVin('RO', 100 + (i % VEHICLES));

console.log(`vehicle bench: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}; register ${VEHICLES + 5} vehicles; offered ${RATE} req/s for ${SECONDS} s`);
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });
const baseline: Send = (i) => post(httpAgent, served.url, JSON.stringify({ query: { kind: 'vin', vin: vinOf(i) } }), 'application/json');

// The partner's signed requests, made before the clock runs (each has its own message id and timestamp).
const total = Math.round(RATE * SECONDS);
const presign = async (n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: vinOf(i) })));
  return out;
};
let signed = await presign(total + 200);
let next = 0;
const gateway: Send = () => {
  const body = signed[next++];
  return body === undefined ? Promise.resolve(EXHAUSTED) : post(httpsAgent, listening.url as string, body, 'text/xml; charset=utf-8', ca);
};

// Warm-up of both paths (JIT, connections, SQLite pages).
for (let i = 0; i < 200; i++) await baseline(i);
for (let i = 0; i < 200; i++) await gateway(i);

const base = await openLoop(baseline, RATE, SECONDS);
const gw = await openLoop(gateway, RATE, SECONDS);
const line = (name: string, r: { latencies: number[]; rps: number; errors: number }) =>
  console.log(`${name.padEnd(52)} ${r.rps.toFixed(1).padStart(7)} req/s  p50 ${percentile(r.latencies, 50).toFixed(2).padStart(7)} ms  p99 ${percentile(r.latencies, 99).toFixed(2).padStart(7)} ms  errors ${r.errors}`);
line('baseline: plain HTTP round trip to the register', base);
line('gateway: signed SOAP search over HTTPS (token)', gw);
const addedP50 = percentile(gw.latencies, 50) - percentile(base.latencies, 50);
const addedP99 = percentile(gw.latencies, 99) - percentile(base.latencies, 99);
console.log(`added by the gateway at ${RATE} req/s: p50 ${addedP50.toFixed(2)} ms, p99 ${addedP99.toFixed(2)} ms (target p99 ≤ 50 ms: ${addedP99 <= 50 ? 'met' : 'NOT met'})`);

// Saturation: how many searches per second each path sustains with CONCURRENCY clients.
signed = await presign(1500 * 5);
next = 0;
const baseMax = await closedLoop(baseline, CONCURRENCY, 5);
const gwMax = await closedLoop(gateway, CONCURRENCY, 5);
console.log(`saturation (${CONCURRENCY} clients, 5 s): baseline ${baseMax.toFixed(0)} req/s, gateway ${gwMax.toFixed(0)} req/s`);

httpAgent.destroy();
httpsAgent.destroy();
for (const n of [gatewayNode, registerNode]) {
  const exited = new Promise((r) => n.child.once('exit', r));
  n.child.kill('SIGTERM');
  await exited;
}
if (gw.errors > 0) process.exitCode = 1;
