/**
 * A process of the vehicle benchmark (test/bench/vehicle.ts), so the load generator, the register and the
 * gateway do not share one event loop:
 *   node --import tsx test/bench/vehicle-node.ts register <vehicles>      → {"url": …}
 *   node --import tsx test/bench/vehicle-node.ts gateway <registerUrl>   → {"url", "ca", "partnerKey", "partnerCert"}
 * Prints one JSON line when ready; stops on SIGTERM (or when stdin closes).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoVehicleRegister } from '../../appliance/vehicle/demo-register.js';
import { seedDemoRegister } from '../../appliance/vehicle/demo-seed.js';
import { serveRegisterOverHttp } from '../../appliance/vehicle/register-http.js';
import { startAppliance } from '../vehicle/harness.js';

const [mode, arg] = process.argv.slice(2);

/** CPU time (user + system, ms) of each thread of this process, by thread id. */
function threadTimes(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
const stops: Array<() => Promise<void> | void> = [];
const stop = async () => {
  for (const s of stops.reverse()) await s();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();

if (mode === 'register') {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-vrd-bench-'));
  const register = new DemoVehicleRegister(join(dir, 'register.sqlite'), { state: 'RO' });
  seedDemoRegister(register, 'RO', { randomVehicles: Number(arg ?? 5000) });
  const served = await serveRegisterOverHttp(register);
  stops.push(() => rmSync(dir, { recursive: true, force: true }), () => register.close(), () => served.close());
  process.stdout.write(`${JSON.stringify({ url: served.url })}\n`);
} else if (mode === 'gateway') {
  // Time inside the gateway per request (arrival of the body to the answer written), reported when stopped.
  const inside: number[] = [];
  const log = { info: (o: object) => void ('ms' in o && typeof o.ms === 'number' && inside.push(o.ms)), warn: () => {}, error: () => {} };
  const before = new Set(threadTimes().keys());
  const ro = await startAppliance({
    log,
    partners: [{ code: 'DE', authorised: ['vin-search', 'plate-search'] }],
    vehicle: { listen: { host: '127.0.0.1', port: 0 }, register: { kind: 'http', url: arg } },
  });
  const listening = await ro.channel.start();
  // From here on: the start (key generation, certificates, schema) is not the requests' cost.
  const cpu0 = process.cpuUsage();
  const threads0 = threadTimes();
  stops.push(() => ro.close());
  // Reported before the appliance closes (its journal worker's thread is gone after).
  stops.push(() => {
    const s = inside.sort((a, b) => a - b);
    const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
    const c = process.cpuUsage(cpu0);
    // CPU of the whole gateway process (main thread, journal worker, token and TLS in libuv's pool) per request:
    // the figure that does not depend on what else the machine is doing.
    process.stderr.write(`gateway inside: ${s.length} requests, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; CPU ${((c.user + c.system) / 1000 / Math.max(1, s.length)).toFixed(2)} ms per request (all threads)\n`);
    // Per thread (Linux /proc; clock ticks of 10 ms): the main thread, the threads started with the appliance
    // (the journal worker among them) and those that existed before it (libuv's pool: token signing, TLS keys).
    const per = (ms: number) => (ms / Math.max(1, s.length)).toFixed(2);
    const threads = [...threadTimes()].map(([tid, ms]) => ({ tid, ms: ms - (threads0.get(tid) ?? 0), started: !before.has(tid) })).filter((t) => t.ms > 0);
    const main = threads.find((t) => t.tid === process.pid);
    const late = threads.filter((t) => t.started).sort((a, b) => b.ms - a.ms);
    const early = threads.filter((t) => !t.started && t.tid !== process.pid).reduce((a, t) => a + t.ms, 0);
    const j = ro.channel.journal.commitStats();
    if (j) process.stderr.write(`journal commits: ${j.exchanges} exchanges in ${j.commits} commits (${(j.exchanges / Math.max(1, j.commits)).toFixed(1)} per commit); commit time p50 ${j.p50Ms.toFixed(1)} ms, p99 ${j.p99Ms.toFixed(1)} ms, max ${j.maxMs.toFixed(0)} ms\n`);
    process.stderr.write(`gateway CPU per request by thread: main ${per(main?.ms ?? 0)} ms; started with the appliance ${late.map((t) => per(t.ms)).join(' + ') || '0'} ms; libuv pool and V8 helpers ${per(early)} ms\n`);
  });
  const de = ro.partners.DE;
  process.stdout.write(`${JSON.stringify({ url: listening.url, ca: join(ro.config.dataDir, 'tls', 'management-cert.pem'), partnerKey: de?.keyPath, partnerCert: de?.certPath })}\n`);
} else {
  process.stderr.write('usage: vehicle-node.ts register <vehicles> | gateway <registerUrl>\n');
  process.exit(2);
}
