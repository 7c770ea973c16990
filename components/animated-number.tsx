'use client';

import { useState } from 'react';

const formatter = new Intl.NumberFormat('en-US');

/**
 * A number that bumps briefly whenever it changes. Once the value differs from
 * the first render, each new value remounts the span (its key), which replays
 * the CSS animation; the first paint stays still, and so does reduced motion.
 */
export function AnimatedNumber({ value }: { value: number }) {
  const [first] = useState(value);
  const changed = value !== first;
  return (
    <span key={changed ? value : 'first'} data-changed={changed} className={`inline-block ${changed ? 'motion-safe:animate-[counter-bump_600ms_ease-out]' : ''}`}>
      {formatter.format(value)}
    </span>
  );
}
