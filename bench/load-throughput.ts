// Closed-loop write throughput: `concurrency` connections, each sending its
// next POST as soon as the last one is answered, for `seconds`.
import { agent, now, postJson } from './support';

export type ThroughputParams = { baseUrl: string; usernames: string[]; concurrency: number; seconds: number };

export async function writeThroughput(params: ThroughputParams) {
  const via = agent(params.concurrency);
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const urls = params.usernames.map((username) => new URL(`/v1/profile/${username}`, params.baseUrl));
  const start = now();
  const end = start + params.seconds * 1_000;
  const loop = async () => {
    while (now() < end) {
      const url = urls[Math.floor(Math.random() * urls.length)];
      const sent = now();
      try {
        const answer = await postJson(url, { likes: 1 }, via);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        latencies.push(answer.at - sent);
      } catch {
        statuses[0] = (statuses[0] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, loop));
  const elapsed = now() - start;
  via.destroy();
  return { latencies, statuses, elapsedMs: elapsed, ok: statuses[200] ?? 0 };
}
