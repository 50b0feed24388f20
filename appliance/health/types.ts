/** System health as the console shows it. Every measurement may be missing (null) on some hardware. */
export type HealthLevel = 'ok' | 'warning' | 'critical' | 'unavailable';

/** Raw measurements, straight from the operating system. */
export interface HealthSample {
  readonly sampledAt: string;
  readonly cpu: { readonly loadPercent: number | null; readonly cores: number | null; readonly model: string | null };
  readonly memory: { readonly totalBytes: number | null; readonly availableBytes: number | null };
  readonly disks: ReadonlyArray<{ readonly mount: string; readonly device: string; readonly sizeBytes: number; readonly usedBytes: number }>;
  /** °C; null without sensors (virtual machines). */
  readonly temperatures: { readonly mainC: number | null; readonly maxC: number | null; readonly coresC: readonly number[] };
  readonly interfaces: ReadonlyArray<{
    readonly name: string;
    readonly operstate: string;
    readonly internal: boolean;
    readonly ip4: string | null;
    readonly mac: string | null;
    readonly speedMbps: number | null;
  }>;
  /** What could not be measured and why (one line each), for the health page and diagnostics. */
  readonly problems: readonly string[];
}

export interface Threshold {
  readonly warning: number;
  readonly critical: number;
}

export interface HealthThresholds {
  readonly cpuPercent: Threshold;
  readonly memoryPercent: Threshold;
  readonly diskPercent: Threshold;
  readonly temperatureC: Threshold;
  /** Interfaces whose link must be up (management, TESTA); others only warn when down. */
  readonly requiredInterfaces: readonly string[];
}

export interface MeasuredValue {
  readonly value: number | null;
  readonly level: HealthLevel;
}

/** A sample judged against thresholds: what the API returns. */
export interface HealthReport {
  readonly sampledAt: string;
  readonly overall: HealthLevel;
  readonly thresholds: HealthThresholds;
  readonly cpu: MeasuredValue & { readonly cores: number | null; readonly model: string | null };
  readonly memory: MeasuredValue & { readonly totalBytes: number | null; readonly usedBytes: number | null };
  readonly disks: ReadonlyArray<MeasuredValue & { readonly mount: string; readonly device: string; readonly sizeBytes: number; readonly usedBytes: number }>;
  readonly temperature: MeasuredValue & { readonly coresC: readonly number[] };
  readonly interfaces: ReadonlyArray<{
    readonly name: string;
    readonly link: 'up' | 'down' | 'unknown';
    readonly level: HealthLevel;
    readonly ip4: string | null;
    readonly mac: string | null;
    readonly speedMbps: number | null;
    readonly required: boolean;
  }>;
  readonly problems: readonly string[];
}
