import { useState } from "preact/hooks";
import type { RoleUsage } from "../types";
import { cost, formatUsd, usageRows, type Prices } from "../usage";

const PRICES_KEY = "open-swe.prices";

function loadPrices(): Prices {
  try {
    const value = JSON.parse(localStorage.getItem(PRICES_KEY) ?? "null") as Prices | null;
    if (value && typeof value.input === "number" && typeof value.output === "number") return value;
  } catch {
    /* fall through */
  }
  return { input: 2, output: 8 };
}

export function UsagePanel({ usage }: { usage: Record<string, RoleUsage> }) {
  const [prices, setPrices] = useState<Prices>(loadPrices);
  const update = (patch: Partial<Prices>) => {
    const next = { ...prices, ...patch };
    setPrices(next);
    localStorage.setItem(PRICES_KEY, JSON.stringify(next));
  };
  const rows = usageRows(usage);
  if (rows.length === 0) return <p class="hint">No model calls yet.</p>;
  return (
    <div class="usage">
      <table>
        <thead>
          <tr>
            <th>role</th>
            <th>calls</th>
            <th>input</th>
            <th>output</th>
            <th>total</th>
            <th>cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.role} class={row.role === "total" ? "total" : ""}>
              <td>{row.role}</td>
              <td>{row.calls}</td>
              <td>{row.input.toLocaleString()}</td>
              <td>{row.output.toLocaleString()}</td>
              <td>{row.total.toLocaleString()}</td>
              <td>{formatUsd(cost(row, prices))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint prices">
        Cost at $
        <input
          type="number"
          min="0"
          step="0.01"
          aria-label="USD per million input tokens"
          value={prices.input}
          onInput={(e) => update({ input: Number(e.currentTarget.value) || 0 })}
        />
        / M input and $
        <input
          type="number"
          min="0"
          step="0.01"
          aria-label="USD per million output tokens"
          value={prices.output}
          onInput={(e) => update({ output: Number(e.currentTarget.value) || 0 })}
        />
        / M output tokens (your model's prices; kept in this browser).
      </p>
    </div>
  );
}
