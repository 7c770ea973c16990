'use client';

import { useEffect, useRef, useState } from 'react';

/**
 * The element's width in CSS pixels, kept current as the layout changes. The
 * charts draw at this width, one SVG unit per pixel, so their text stays at
 * its real size on a phone instead of being scaled down with a viewBox.
 */
export function useWidth<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState<number | null>(null);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    // A ResizeObserver reports once as soon as it observes, and again on every change.
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}
