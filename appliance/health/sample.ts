import si from 'systeminformation';
import type { HealthSample } from './types.js';

/** Pseudo and in-memory file systems are not the appliance's storage. */
const IGNORED_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|efivarfs|ramfs)$/;

async function attempt<T>(what: string, work: () => Promise<T>, problems: string[]): Promise<T | null> {
  try {
    return await work();
  } catch (e) {
    problems.push(`${what}: ${(e as Error).message}`.slice(0, 200));
    return null;
  }
}

/**
 * Measures the machine with systeminformation. Each measurement is separate: one failing
 * (no sensors, no permission) leaves its value null and a line in `problems`, never an error.
 * currentLoad() samples for ~0.5 s, which is why HealthMonitor caches the result.
 */
export async function sampleSystem(now: () => Date = () => new Date()): Promise<HealthSample> {
  const problems: string[] = [];
  const [load, cpu, mem, fs, temp, nics] = await Promise.all([
    attempt('cpu load', () => si.currentLoad(), problems),
    attempt('cpu', () => si.cpu(), problems),
    attempt('memory', () => si.mem(), problems),
    attempt('disks', () => si.fsSize(), problems),
    attempt('temperature', () => si.cpuTemperature(), problems),
    attempt('network', () => si.networkInterfaces(), problems),
  ]);
  const temperatureOk = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > -50;
  if (temp && !temperatureOk(temp.main) && !temperatureOk(temp.max)) problems.push('temperature: no sensor reported a value');
  return {
    sampledAt: now().toISOString(),
    cpu: {
      loadPercent: load && Number.isFinite(load.currentLoad) ? load.currentLoad : null,
      cores: cpu?.cores ?? null,
      model: cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : null,
    },
    memory: { totalBytes: mem?.total ?? null, availableBytes: mem?.available ?? null },
    disks: (fs ?? [])
      .filter((d) => !IGNORED_FS.test(d.type) && d.size > 0)
      .map((d) => ({ mount: d.mount, device: d.fs, sizeBytes: d.size, usedBytes: d.used })),
    temperatures: {
      mainC: temp && temperatureOk(temp.main) ? temp.main : null,
      maxC: temp && temperatureOk(temp.max) ? temp.max : null,
      coresC: (temp?.cores ?? []).filter(temperatureOk),
    },
    interfaces: (Array.isArray(nics) ? nics : []).map((n) => ({
      name: n.iface,
      operstate: n.operstate,
      internal: n.internal,
      ip4: n.ip4 || null,
      mac: n.mac || null,
      // systeminformation says -1 when the driver does not report a speed (virtio).
      speedMbps: typeof n.speed === 'number' && n.speed > 0 ? n.speed : null,
    })),
    problems,
  };
}

/** Caches the last sample so several open health pages cost one measurement every `maxAgeMs`. */
export class HealthMonitor {
  private last: { at: number; sample: HealthSample } | null = null;
  private pending: Promise<HealthSample> | null = null;

  constructor(
    private readonly measure: () => Promise<HealthSample> = () => sampleSystem(),
    private readonly maxAgeMs = 5_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async sample(): Promise<HealthSample> {
    const now = this.clock();
    if (this.last && now - this.last.at < this.maxAgeMs) return this.last.sample;
    this.pending ??= this.measure().finally(() => {
      this.pending = null;
    });
    const sample = await this.pending;
    this.last = { at: now, sample };
    return sample;
  }
}
