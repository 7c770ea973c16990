// Commit → SSE frame, one update at a time: a pg client commits an UPDATE and
// times the frame that carries its version on an open stream of that profile.
import pg from 'pg';
import { agent, FrameLog, now, openSse, sleep, within } from './support';

export type ProbeParams = { databaseUrl: string; baseUrl: string; username: string; samples: number; gapMs: number };

export async function commitToFrame(params: ProbeParams): Promise<{ commitToFrame: number[]; sendToFrame: number[]; missed: number }> {
  const via = agent(1);
  const frames = new FrameLog();
  const stream = await openSse(new URL(`/stream?u=${params.username}`, params.baseUrl), via, (frame) => frames.record(frame));
  const client = new pg.Client({ connectionString: params.databaseUrl });
  await client.connect();
  const result = { commitToFrame: [] as number[], sendToFrame: [] as number[], missed: 0 };
  try {
    const warmup = Math.min(20, params.samples);
    for (let i = 0; i < params.samples + warmup; i += 1) {
      const sent = now();
      const { rows } = await client.query<{ version: string }>('UPDATE profiles SET likes = likes + 1 WHERE username = $1 RETURNING version', [params.username]);
      const committed = now();
      const at = await within(frames.arrival(params.username, Number(rows[0].version)), 5_000, NaN);
      if (i >= warmup) {
        if (Number.isNaN(at)) result.missed += 1;
        else {
          result.commitToFrame.push(at - committed);
          result.sendToFrame.push(at - sent);
        }
      }
      await sleep(params.gapMs);
    }
  } finally {
    stream.close();
    via.destroy();
    await client.end();
  }
  return result;
}
