import { describe, expect, it } from 'vitest';
import { QueueRefusal, WriteBatcher } from '@/lib/writes/write-batcher';

function recorder(answer: (batch: number[]) => Promise<number[]> = async (batch) => batch.map((n) => n * 10)) {
  const batches: number[][] = [];
  const run = (batch: number[]) => {
    batches.push(batch);
    return answer(batch);
  };
  return { batches, run };
}

describe('WriteBatcher', () => {
  it('runs requests made in the same turn as one batch and answers each with its own result', async () => {
    const { batches, run } = recorder();
    const batcher = new WriteBatcher(run, { windowMs: 2, maxBatch: 64, maxInFlight: 2 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => batcher.submit(n)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('never lets a batch grow past maxBatch', async () => {
    const { batches, run } = recorder();
    const batcher = new WriteBatcher(run, { windowMs: 2, maxBatch: 3, maxInFlight: 2 });
    const results = await Promise.all(Array.from({ length: 7 }, (_, n) => batcher.submit(n)));
    expect(results).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(batches.map((batch) => batch.length)).toEqual([3, 3, 1]);
    expect(batcher.largestBatch).toBe(3);
  });

  it('gathers what arrives while a batch runs into the next one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { batches, run } = recorder(async (batch) => {
      if (batches.length === 1) await gate;
      return batch;
    });
    const batcher = new WriteBatcher(run, { windowMs: 50, maxBatch: 64, maxInFlight: 2 });
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => batcher.submit(n));
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects every request of a failed batch with its error, and runs none of them again', async () => {
    const { batches, run } = recorder(async () => {
      throw new Error('connection reset');
    });
    const batcher = new WriteBatcher(run, { windowMs: 2, maxBatch: 64, maxInFlight: 2 });
    const settled = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    expect(settled.map((result) => (result.status === 'rejected' ? (result.reason as Error).message : 'fulfilled'))).toEqual([
      'connection reset',
      'connection reset',
      'connection reset',
    ]);
    expect(batches).toHaveLength(1);
  });

  it('treats a wrong number of results as a failure of the whole batch', async () => {
    const batcher = new WriteBatcher(async () => [1], { windowMs: 2, maxBatch: 64, maxInFlight: 2 });
    const settled = await Promise.allSettled([1, 2].map((n) => batcher.submit(n)));
    expect(settled.every((result) => result.status === 'rejected')).toBe(true);
  });

  it('runs at most maxInFlight batches at once; the rest gather into the next one', async () => {
    const gates: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const { batches, run } = recorder(async (batch) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running -= 1;
      return batch;
    });
    const batcher = new WriteBatcher(run, { windowMs: 0, maxBatch: 2, maxInFlight: 1 });
    const all = [1, 2, 3, 4, 5].map((n) => batcher.submit(n));
    while (batches.length < 3) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      gates.shift()?.();
    }
    gates.forEach((release) => release());
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(1);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('refuses a request at once when queueLimit requests are already waiting, and never sends it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { batches, run } = recorder(async (batch) => {
      await gate;
      return batch;
    });
    const batcher = new WriteBatcher(run, { windowMs: 0, maxBatch: 10, maxInFlight: 1, queueLimit: 2 });
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [batcher.submit(2), batcher.submit(3)];
    const refusedAt = Date.now();
    const refusal = await batcher.submit(4).catch((error: unknown) => error);
    expect(Date.now() - refusedAt).toBeLessThan(50);
    expect(refusal).toBeInstanceOf(QueueRefusal);
    expect((refusal as QueueRefusal).reason).toBe('queue-full');
    release();
    expect(await Promise.all([first, ...waiting])).toEqual([1, 2, 3]);
    expect(batches.flat()).toEqual([1, 2, 3]);
    expect(batcher.refusedQueueFull).toBe(1);
  });

  it('refuses a request still waiting at its deadline, never sends it, and sends the ones after it in time', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { batches, run } = recorder(async (batch) => {
      if (batches.length === 1) await gate;
      return batch;
    });
    const batcher = new WriteBatcher(run, { windowMs: 0, maxBatch: 10, maxInFlight: 1, deadlineMs: 100 });
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const queuedAt = Date.now();
    const stuck = batcher.submit(2).catch((error: unknown) => error);
    const refusal = await stuck;
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(95);
    expect(refusal).toBeInstanceOf(QueueRefusal);
    expect((refusal as QueueRefusal).reason).toBe('deadline');
    expect(batcher.queued).toBe(0);
    const later = batcher.submit(3);
    release();
    expect(await Promise.all([first, later])).toEqual([1, 3]);
    expect(batches).toEqual([[1], [3]]);
    expect(batcher.refusedDeadline).toBe(1);
  });

  it("hands the runner each request's deadline", async () => {
    const seen: number[][] = [];
    const batcher = new WriteBatcher(async (batch: number[], deadlines: number[]) => {
      seen.push(deadlines);
      return batch;
    }, { windowMs: 0, maxBatch: 10, maxInFlight: 1, deadlineMs: 1_000 });
    const before = Date.now();
    await Promise.all([batcher.submit(1), batcher.submit(2)]);
    expect(seen[0]).toHaveLength(2);
    for (const deadline of seen[0]) expect(deadline).toBeGreaterThanOrEqual(before + 1_000);
  });
});
