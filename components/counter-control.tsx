'use client';

import { AnimatedNumber } from './animated-number';
import type { Counter } from './send-delta';

const formatter = new Intl.NumberFormat('en-US');

type Props = {
  counter: Counter;
  label: string;
  value: number;
  onChange: (counter: Counter, delta: number) => void;
  disabled?: boolean;
};

export function CounterControl({ counter, label, value, onChange, disabled = false }: Props) {
  const button =
    'flex h-9 w-9 items-center justify-center rounded-full border border-slate-300 text-lg font-semibold text-slate-700 transition hover:bg-slate-100 active:scale-95 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800 disabled:cursor-not-allowed disabled:opacity-40';
  return (
    <div className="flex flex-col items-center gap-2 rounded-2xl bg-slate-50 px-2 py-3 dark:bg-slate-800/60">
      <output
        data-testid={`counter-${counter}`}
        data-value={value}
        aria-live="polite"
        aria-label={`${label}: ${formatter.format(value)}`}
        className="text-2xl font-bold tabular-nums sm:text-3xl"
      >
        <AnimatedNumber value={value} />
      </output>
      <span className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</span>
      <div className="flex gap-2">
        <button type="button" data-testid={`decrement-${counter}`} aria-label={`${label} minus one`} className={button} disabled={disabled} onClick={() => onChange(counter, -1)}>
          −
        </button>
        <button type="button" data-testid={`increment-${counter}`} aria-label={`${label} plus one`} className={button} disabled={disabled} onClick={() => onChange(counter, 1)}>
          +
        </button>
      </div>
    </div>
  );
}
