'use client';

import type { ReactNode } from 'react';
import { useWidth } from './use-width';

/**
 * The frame every chart shares: title and legend on top, the plot at the
 * bottom at a fixed height, so the plots of cards side by side line up however
 * long their legends are.
 */
export function ChartCard({
  testId,
  title,
  unit,
  legend,
  note,
  height,
  className = '',
  children,
}: {
  testId: string;
  title: string;
  unit: string;
  legend?: ReactNode;
  note?: ReactNode;
  height: number;
  className?: string;
  children: (width: number) => ReactNode;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  return (
    <figure data-testid={testId} className={`flex h-full min-w-0 flex-col rounded-2xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${className}`}>
      <figcaption className="space-y-1">
        <span className="flex flex-wrap items-baseline justify-between gap-x-3">
          <span className="font-semibold">{title}</span>
          <span className="text-xs text-slate-500 dark:text-slate-400">{unit}</span>
        </span>
        {legend}
        {note && <span className="block text-xs text-slate-500 dark:text-slate-400">{note}</span>}
      </figcaption>
      <div ref={ref} className="mt-auto pt-3" style={{ height: height + 12 }}>
        {width !== null && width > 0 && children(width)}
      </div>
    </figure>
  );
}
