import { chartPoints, compactNumber, linePath, niceMax, ticks, type Series } from "@/lib/chart";

/** A small dependency-free SVG line chart (cumulative series over time buckets). */
export function LineChart(props: { series: Series[]; labels: string[]; height?: number; title: string }) {
  const width = 640,
    height = props.height ?? 200,
    padL = 48,
    padB = 22,
    padT = 8;
  const plotW = width - padL - 8,
    plotH = height - padB - padT;
  const max = niceMax(Math.max(0, ...props.series.flatMap((s) => s.values)));
  const n = props.labels.length;
  const labelEvery = Math.max(1, Math.ceil(n / 6));
  return (
    <figure style={{ margin: 0 }}>
      <svg className="chart" viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={props.title}>
        <g transform={`translate(${padL},${padT})`}>
          {ticks(max).map((t) => {
            const y = plotH - (t / max) * plotH;
            return (
              <g key={t}>
                <line x1={0} x2={plotW} y1={y} y2={y} stroke="#2a3052" />
                <text x={-6} y={y + 4} textAnchor="end">
                  {compactNumber(t)}
                </text>
              </g>
            );
          })}
          {props.series.map((s) => (
            <g key={s.label}>
              <path d={linePath(s.values, plotW, plotH, max)} fill="none" stroke={s.color} strokeWidth={2} />
              {s.values.length <= 60 &&
                chartPoints(s.values, plotW, plotH, max).map(([x, y], i) => <circle key={i} cx={x} cy={y} r={3} fill={s.color} />)}
            </g>
          ))}
          {props.labels.map((l, i) =>
            i % labelEvery === 0 ? (
              <text key={i} x={n > 1 ? (i * plotW) / (n - 1) : plotW / 2} y={plotH + 16} textAnchor="middle">
                {l}
              </text>
            ) : null,
          )}
        </g>
      </svg>
      <figcaption className="legend">
        {props.series.map((s) => (
          <span key={s.label}>
            <i style={{ background: s.color }} />
            {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
