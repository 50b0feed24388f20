/**
 * A process of the vehicle benchmark (test/bench/vehicle.ts), so the load generator, the register and the
 * gateway do not share one event loop:
 *   node --import tsx test/bench/vehicle-node.ts register <vehicles>      → {"url": …}
 *   node --import tsx test/bench/vehicle-node.ts gateway <registerUrl>   → {"url", "ca", "partnerKey", "partnerCert"}
 * Prints one JSON line when ready; stops on SIGTERM (or when stdin closes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoVehicleRegister } from '../../appliance/vehicle/demo-register.js';
import { seedDemoRegister } from '../../appliance/vehicle/demo-seed.js';
import { serveRegisterOverHttp } from '../../appliance/vehicle/register-http.js';
import { startAppliance } from '../vehicle/harness.js';

const [mode, arg] = process.argv.slice(2);
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
  const cpu0 = process.cpuUsage();
  stops.push(() => {
    const s = inside.sort((a, b) => a - b);
    const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
    const c = process.cpuUsage(cpu0);
    // CPU of the whole gateway process (main thread, journal worker, token and TLS in libuv's pool) per request:
    // the figure that does not depend on what else the machine is doing.
    process.stderr.write(`gateway inside: ${s.length} requests, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; CPU ${((c.user + c.system) / 1000 / Math.max(1, s.length)).toFixed(2)} ms per request (all threads)\n`);
  });
  const ro = await startAppliance({
    log,
    partners: [{ code: 'DE', authorised: ['vin-search', 'plate-search'] }],
    vehicle: { listen: { host: '127.0.0.1', port: 0 }, register: { kind: 'http', url: arg } },
  });
  const listening = await ro.channel.start();
  stops.push(() => ro.close());
  const de = ro.partners.DE;
  process.stdout.write(`${JSON.stringify({ url: listening.url, ca: join(ro.config.dataDir, 'tls', 'management-cert.pem'), partnerKey: de?.keyPath, partnerCert: de?.certPath })}\n`);
} else {
  process.stderr.write('usage: vehicle-node.ts register <vehicles> | gateway <registerUrl>\n');
  process.exit(2);
}
