import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateHealth, DEFAULT_THRESHOLDS, levelOf } from '../../appliance/health/thresholds.js';
import { HealthMonitor, sampleSystem } from '../../appliance/health/sample.js';
import type { HealthSample } from '../../appliance/health/types.js';

const sample: HealthSample = {
  sampledAt: '2026-03-01T10:00:00.000Z',
  cpu: { loadPercent: 50, cores: 2, model: 'x' },
  memory: { totalBytes: 1000, availableBytes: 500 },
  disks: [{ mount: '/', device: '/dev/vda', sizeBytes: 100, usedBytes: 85 }],
  temperatures: { mainC: null, maxC: null, coresC: [] },
  interfaces: [
    { name: 'lo', operstate: 'unknown', internal: true, ip4: '127.0.0.1', mac: null, speedMbps: null },
    { name: 'eth0', operstate: 'up', internal: false, ip4: '10.0.0.2', mac: null, speedMbps: 1000 },
    { name: 'eth1', operstate: 'down', internal: false, ip4: null, mac: null, speedMbps: null },
  ],
  problems: [],
};

test('thresholds: warning and critical levels, missing values are "unavailable", not ok', () => {
  assert.equal(levelOf(79.9, DEFAULT_THRESHOLDS.cpuPercent), 'ok');
  assert.equal(levelOf(80, DEFAULT_THRESHOLDS.cpuPercent), 'warning');
  assert.equal(levelOf(95, DEFAULT_THRESHOLDS.cpuPercent), 'critical');
  assert.equal(levelOf(null, DEFAULT_THRESHOLDS.temperatureC), 'unavailable');
  const report = evaluateHealth(sample);
  assert.equal(report.memory.value, 50);
  assert.equal(report.disks[0]?.level, 'warning');
  assert.equal(report.temperature.level, 'unavailable');
  assert.deepEqual(report.interfaces.map((i) => [i.name, i.link, i.level]), [['eth0', 'up', 'ok'], ['eth1', 'down', 'warning']], 'loopback left out');
  assert.equal(report.overall, 'warning');
});

test('a required interface that is down or missing is critical', () => {
  const report = evaluateHealth(sample, { ...DEFAULT_THRESHOLDS, requiredInterfaces: ['eth1', 'testa0'] });
  assert.deepEqual(report.interfaces.filter((i) => i.required).map((i) => [i.name, i.level]), [['eth1', 'critical'], ['testa0', 'critical']]);
  assert.equal(report.overall, 'critical');
});

test('sampling this machine: real values, and no temperature sensor in this VM is reported, not invented', async () => {
  const s = await sampleSystem();
  assert.ok(s.cpu.cores !== null && s.cpu.cores >= 1);
  assert.ok(s.memory.totalBytes !== null && s.memory.totalBytes > 0);
  assert.ok(s.disks.some((d) => d.mount === '/'));
  assert.ok(s.interfaces.some((i) => i.name === 'lo'));
  if (s.temperatures.mainC === null && s.temperatures.maxC === null) {
    assert.ok(s.problems.some((p) => p.startsWith('temperature')));
    assert.equal(evaluateHealth(s).temperature.level, 'unavailable');
  }
});

test('the monitor measures once per period however many pages ask', async () => {
  let measured = 0;
  let now = 0;
  const m = new HealthMonitor(async () => {
    measured++;
    return sample;
  }, 5_000, () => now);
  await Promise.all([m.sample(), m.sample(), m.sample()]);
  now = 4_000;
  await m.sample();
  assert.equal(measured, 1);
  now = 6_000;
  await m.sample();
  assert.equal(measured, 2);
});
