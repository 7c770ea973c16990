import { describe, expect, it } from 'vitest';
import { sumWrites } from '@/components/status/figures';
import { CountWindow } from '@/lib/ops/rolling';
import type { WriteOutcome } from '@/lib/ops/web-metrics';
import type { WebStatus } from '@/lib/ops/web-processes';

const t0 = 1_700_000_001_000 - (1_700_000_001_000 % 3_000);

function web(id: string, window: CountWindow<WriteOutcome>, at: number): WebStatus {
  return { id, pid: 1, host: 'h', startedAt: '', at: new Date(at).toISOString(), openStreams: 0, received: 0, writes: window.snapshot(at) };
}

describe('writes on the status page, added up over every web process', () => {
  it('adds the rates of processes step by step', () => {
    const a = new CountWindow<WriteOutcome>(3, 30, t0 - 60_000);
    const b = new CountWindow<WriteOutcome>(3, 30, t0 - 60_000);
    for (let i = 0; i < 6; i += 1) a.record('accepted', t0 + 100 + i);
    for (let i = 0; i < 3; i += 1) b.record('accepted', t0 + 200 + i);
    b.record('rateLimited', t0 + 300);
    const list = [web('a', a, t0 + 6_500), web('b', b, t0 + 6_500)];
    const grid = [t0 - 3_000, t0, t0 + 3_000];
    expect(sumWrites(list, grid, 'accepted')).toEqual([
      { t: t0 - 3_000, v: 0 },
      { t: t0, v: 3 },
      { t: t0 + 3_000, v: 0 },
    ]);
    expect(sumWrites(list, grid, 'rateLimited')[1]).toEqual({ t: t0, v: 1 / 3 });
    // The step in progress when they announced (t0 + 6 s, half a second old) is not rated at all.
    expect(sumWrites(list, [t0 + 6_000], 'accepted')).toEqual([{ t: t0 + 6_000, v: null }]);
  });

  it('says "unknown" for steps a process had not finished when it last announced', () => {
    const fresh = new CountWindow<WriteOutcome>(3, 30, t0 - 60_000);
    const stale = new CountWindow<WriteOutcome>(3, 30, t0 - 60_000);
    // The stale process announced 0.4 s into step t0 and not since.
    const list = [web('fresh', fresh, t0 + 6_500), web('stale', stale, t0 + 400)];
    expect(sumWrites(list, [t0 - 3_000, t0, t0 + 3_000], 'accepted').map((p) => p.v)).toEqual([0, null, null]);
  });

  it('counts a step only from the processes that were running, and none when no process was', () => {
    const old = new CountWindow<WriteOutcome>(3, 30, t0 - 60_000);
    const started = new CountWindow<WriteOutcome>(3, 30, t0);
    old.record('accepted', t0 - 2_000);
    const list = [web('old', old, t0 + 3_500), web('new', started, t0 + 3_500)];
    expect(sumWrites(list, [t0 - 3_000], 'accepted')).toEqual([{ t: t0 - 3_000, v: 1 / 3 }]);
    expect(sumWrites([web('new', started, t0 + 3_500)], [t0 - 3_000, t0], 'accepted').map((p) => p.v)).toEqual([null, 0]);
  });
});
