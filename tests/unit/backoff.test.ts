import { describe, expect, it } from 'vitest';
import { backoffMs } from '@/worker/listener';

describe('reconnect backoff', () => {
  it('grows exponentially with jitter and stays capped at 10 s', () => {
    for (let attempt = 1; attempt <= 20; attempt += 1) {
      const ceiling = Math.min(100 * 2 ** attempt, 10_000);
      for (let sample = 0; sample < 50; sample += 1) {
        const delay = backoffMs(attempt);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});
