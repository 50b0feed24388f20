/** Small inline-SVG charts: no chart library, nothing loaded, colours from CSS classes. */

export interface Series {
  readonly name: string;
  readonly cls: string;
  readonly values: readonly number[];
}

function niceMax(v: number): number {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / p) * p;
}

/** Lines over equally spaced buckets (throughput per minute over the last hour). */
export function LineChart({ series, width = 560, height = 160, label, xLabels }: { series: readonly Series[]; width?: number; height?: number; label: string; xLabels: readonly [string, string, string] }) {
  const pad = { l: 34, r: 8, t: 8, b: 20 };
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (i: number) => pad.l + (i * (width - pad.l - pad.r)) / Math.max(1, n - 1);
  const y = (v: number) => pad.t + (height - pad.t - pad.b) * (1 - v / max);
  const ticks = [0, max / 2, max];
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      {ticks.map((v) => (
        <g key={v}>
          <line class="grid" x1={pad.l} x2={width - pad.r} y1={y(v)} y2={y(v)} />
          <text class="axis" x={pad.l - 4} y={y(v) + 4} text-anchor="end">
            {Math.round(v)}
          </text>
        </g>
      ))}
      {series.map((s) => (
        <polyline key={s.name} class={`line ${s.cls}`} fill="none" points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}>
          <title>{s.name}</title>
        </polyline>
      ))}
      <text class="axis" x={pad.l} y={height - 4}>
        {xLabels[0]}
      </text>
      <text class="axis" x={(pad.l + width - pad.r) / 2} y={height - 4} text-anchor="middle">
        {xLabels[1]}
      </text>
      <text class="axis" x={width - pad.r} y={height - 4} text-anchor="end">
        {xLabels[2]}
      </text>
    </svg>
  );
}

export interface BarGroup {
  readonly label: string;
  readonly values: readonly number[];
}

/** Stacked bars, one per group (hits and no-hits per State). */
export function StackedBars({ groups, classes, names, width = 640, height = 200, label }: { groups: readonly BarGroup[]; classes: readonly string[]; names: readonly string[]; width?: number; height?: number; label: string }) {
  const pad = { l: 34, r: 8, t: 8, b: 22 };
  const max = niceMax(Math.max(0, ...groups.map((g) => g.values.reduce((a, b) => a + b, 0))));
  const slot = (width - pad.l - pad.r) / Math.max(1, groups.length);
  const bar = Math.max(4, Math.min(28, slot * 0.7));
  const h = height - pad.t - pad.b;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      {[0, max / 2, max].map((v) => (
        <g key={v}>
          <line class="grid" x1={pad.l} x2={width - pad.r} y1={pad.t + h * (1 - v / max)} y2={pad.t + h * (1 - v / max)} />
          <text class="axis" x={pad.l - 4} y={pad.t + h * (1 - v / max) + 4} text-anchor="end">
            {Math.round(v)}
          </text>
        </g>
      ))}
      {groups.map((g, i) => {
        let base = 0;
        const cx = pad.l + slot * i + slot / 2;
        return (
          <g key={g.label}>
            {g.values.map((v, k) => {
              const y0 = pad.t + h * (1 - (base + v) / max);
              const rect = <rect key={k} class={`bar ${classes[k] ?? ''}`} x={cx - bar / 2} y={y0} width={bar} height={(h * v) / max}><title>{`${g.label} ${names[k] ?? ''}: ${v}`}</title></rect>;
              base += v;
              return rect;
            })}
            <text class="axis" x={cx} y={height - 6} text-anchor="middle">
              {g.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
