import { niceMax } from "@/lib/chart";

/** Horizontal bars with labels and values: breakdowns per model, job or kind. */
export function BarList(props: { items: { label: string; value: number; display: string }[]; color?: string; empty?: string }) {
  if (props.items.length === 0) return <p className="muted">{props.empty ?? "Nothing yet."}</p>;
  const max = niceMax(Math.max(...props.items.map((i) => i.value)));
  return (
    <div style={{ display: "grid", gap: 6 }}>
      {props.items.map((i) => (
        <div
          key={i.label}
          style={{ display: "grid", gridTemplateColumns: "110px 1fr 120px", gap: 8, alignItems: "center", fontSize: "0.88em" }}
        >
          <span className="muted">{i.label}</span>
          <svg viewBox="0 0 100 10" preserveAspectRatio="none" height={12} width="100%" aria-hidden>
            <rect x={0} y={0} width={Math.max(0.5, (i.value / max) * 100)} height={10} rx={2} fill={props.color ?? "#7c8cff"} />
          </svg>
          <span className="mono" style={{ textAlign: "right" }}>
            {i.display}
          </span>
        </div>
      ))}
    </div>
  );
}
