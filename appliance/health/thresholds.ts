import type { HealthLevel, HealthReport, HealthSample, HealthThresholds, Threshold } from './types.js';

/**
 * Defaults for a 24/7 appliance: warn early enough that someone can act before the 15-minute
 * DNA deadline is at stake. Disk is tighter than memory because SQLite in WAL mode needs free
 * space to checkpoint, and a full disk stops the queue.
 */
export const DEFAULT_THRESHOLDS: HealthThresholds = {
  cpuPercent: { warning: 80, critical: 95 },
  memoryPercent: { warning: 85, critical: 95 },
  diskPercent: { warning: 80, critical: 90 },
  temperatureC: { warning: 75, critical: 90 },
  requiredInterfaces: [],
};

export function levelOf(value: number | null, t: Threshold): HealthLevel {
  if (value === null || !Number.isFinite(value)) return 'unavailable';
  if (value >= t.critical) return 'critical';
  if (value >= t.warning) return 'warning';
  return 'ok';
}

const RANK: Record<HealthLevel, number> = { unavailable: 0, ok: 1, warning: 2, critical: 3 };

export function worst(levels: readonly HealthLevel[]): HealthLevel {
  let result: HealthLevel = 'ok';
  for (const l of levels) if (RANK[l] > RANK[result]) result = l;
  return result;
}

function percent(part: number | null, whole: number | null): number | null {
  if (part === null || whole === null || whole <= 0) return null;
  return Math.round((part / whole) * 1000) / 10;
}

function linkOf(operstate: string): 'up' | 'down' | 'unknown' {
  if (operstate === 'up') return 'up';
  if (operstate === 'down' || operstate === 'lowerlayerdown' || operstate === 'notpresent') return 'down';
  return 'unknown';
}

/** Judges a sample; pure, so thresholds are tested without touching the machine. */
export function evaluateHealth(sample: HealthSample, thresholds: HealthThresholds = DEFAULT_THRESHOLDS): HealthReport {
  const usedMemory =
    sample.memory.totalBytes !== null && sample.memory.availableBytes !== null ? sample.memory.totalBytes - sample.memory.availableBytes : null;
  const memoryPercent = percent(usedMemory, sample.memory.totalBytes);
  const cpuLoad = sample.cpu.loadPercent === null ? null : Math.round(sample.cpu.loadPercent * 10) / 10;
  const cpu = { value: cpuLoad, level: levelOf(cpuLoad, thresholds.cpuPercent), cores: sample.cpu.cores, model: sample.cpu.model };
  const memory = { value: memoryPercent, level: levelOf(memoryPercent, thresholds.memoryPercent), totalBytes: sample.memory.totalBytes, usedBytes: usedMemory };
  const disks = sample.disks.map((d) => {
    const value = percent(d.usedBytes, d.sizeBytes);
    return { ...d, value, level: levelOf(value, thresholds.diskPercent) };
  });
  const hottest = sample.temperatures.maxC ?? sample.temperatures.mainC;
  const temperature = { value: hottest, level: levelOf(hottest, thresholds.temperatureC), coresC: sample.temperatures.coresC };
  const interfaces = sample.interfaces
    .filter((i) => !i.internal)
    .map((i) => {
      const link = linkOf(i.operstate);
      const required = thresholds.requiredInterfaces.includes(i.name);
      const level: HealthLevel = link === 'up' ? 'ok' : link === 'down' ? (required ? 'critical' : 'warning') : required ? 'warning' : 'ok';
      return { name: i.name, link, level, ip4: i.ip4, mac: i.mac, speedMbps: i.speedMbps, required };
    });
  for (const name of thresholds.requiredInterfaces) {
    if (!interfaces.some((i) => i.name === name)) {
      interfaces.push({ name, link: 'down', level: 'critical', ip4: null, mac: null, speedMbps: null, required: true });
    }
  }
  const overall = worst([cpu.level, memory.level, temperature.level, ...disks.map((d) => d.level), ...interfaces.map((i) => i.level)]);
  return { sampledAt: sample.sampledAt, overall, thresholds, cpu, memory, disks, temperature, interfaces, problems: sample.problems };
}
