// Token usage per role and its cost at the prices the user enters (USD per million tokens).

import type { RoleUsage } from "./types";

export interface Prices {
  input: number;
  output: number;
}

export interface UsageRow {
  role: string;
  calls: number;
  input: number;
  output: number;
  total: number;
}

export function usageRows(usage: Record<string, RoleUsage>): UsageRow[] {
  const row = (role: string, u: RoleUsage): UsageRow => ({
    role,
    calls: u.calls ?? 0,
    input: u.input_tokens ?? 0,
    output: u.output_tokens ?? 0,
    total: u.total_tokens ?? (u.input_tokens ?? 0) + (u.output_tokens ?? 0),
  });
  const roles = Object.keys(usage)
    .filter((role) => role !== "total")
    .sort()
    .map((role) => row(role, usage[role]));
  return usage.total ? [...roles, row("total", usage.total)] : roles;
}

export function cost(row: UsageRow, prices: Prices): number {
  return (row.input * prices.input + row.output * prices.output) / 1_000_000;
}

export function formatUsd(value: number): string {
  return value < 0.01 && value > 0 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}
