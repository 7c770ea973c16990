import { describe, expect, it } from 'vitest';
import { explain } from '@/components/send-delta';

describe('what a person sees when a click is refused', () => {
  it('409 repeats the server sentence that names the counter', () => {
    expect(explain(409, { detail: "Likes can't go below zero; nothing was changed." }, null)).toBe("Likes can't go below zero; nothing was changed.");
  });

  it('429 says nothing changed and how long to wait, from Retry-After', () => {
    expect(explain(429, null, '3')).toBe('Too many clicks at once: nothing was changed. Wait 3 s and try again.');
    expect(explain(429, null, null)).toContain('Wait a moment');
  });

  it('anything else falls back to the problem detail, or the status, without claiming what happened', () => {
    expect(explain(500, null, null)).toBe('The server answered 500. If your change was saved, the number above shows it; if not, try again.');
    expect(explain(422, { detail: 'Send integer deltas.' }, null)).toBe('Send integer deltas.');
  });

  it('504 says the outcome is unknown, not that nothing changed', () => {
    expect(explain(504, { detail: 'whatever the server said' }, null)).toMatch(/could not tell whether your change was saved/);
    expect(explain(504, null, null)).not.toMatch(/nothing was changed/);
  });
});
