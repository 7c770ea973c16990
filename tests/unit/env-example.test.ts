import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@/lib/config';

describe('.env.example', () => {
  const text = readFileSync('.env.example', 'utf8');
  const documented = [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]] as const);

  it('documents every setting lib/config.ts reads, and nothing else', () => {
    expect(documented.map(([name]) => name).sort()).toEqual(Object.keys(parseConfig({})).sort());
  });

  it('shows the real defaults', () => {
    const defaults = parseConfig({}) as Record<string, unknown>;
    for (const [name, value] of documented) if (name !== 'NODE_ENV') expect(String(defaults[name]), name).toBe(value);
  });
});
