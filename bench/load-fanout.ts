// Fan-out clients: open many streams on one profile and report when each one
// received a frame past a version. Several of these processes share the load.
import { agent, openSse, type SseClient } from './support';

export type FanoutParams = { baseUrl: string; username: string; streams: number };

export class FanoutClients {
  private clients: SseClient[] = [];
  private arrivals: number[][] = [];
  private target = Infinity;

  async open(params: FanoutParams, progress: (text: string) => void): Promise<number> {
    const via = agent(Infinity);
    const url = new URL(`/stream?u=${params.username}`, params.baseUrl);
    const snapshots: Promise<void>[] = [];
    for (let i = 0; i < params.streams; i += 1) {
      const arrivals: number[] = [];
      this.arrivals.push(arrivals);
      let gotSnapshot!: () => void;
      snapshots.push(new Promise((resolve) => (gotSnapshot = resolve)));
      const client = await openSse(url, via, (frame) => {
        if (frame.version >= this.target && arrivals.length === 0) arrivals.push(frame.at);
        gotSnapshot();
      });
      this.clients.push(client);
      // Let snapshots drain between bursts so the server is not flooded with half-open requests.
      if (i % 250 === 249) {
        await Promise.all(snapshots.slice(-250));
        if (i % 1000 === 999) progress(`${i + 1}/${params.streams} streams open`);
      }
    }
    await Promise.all(snapshots);
    return this.clients.length;
  }

  expect(version: number): void {
    this.target = version;
    for (const arrivals of this.arrivals) arrivals.length = 0;
  }

  /** Arrival times, once every stream has one or after timeoutMs with what arrived. */
  async collect(timeoutMs: number): Promise<{ arrivals: number[]; missing: number }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.arrivals.some((arrivals) => arrivals.length === 0)) await new Promise((resolve) => setTimeout(resolve, 20));
    const arrivals = this.arrivals.flatMap((list) => list.slice(0, 1));
    return { arrivals, missing: this.arrivals.length - arrivals.length };
  }

  close(): void {
    for (const client of this.clients) client.close();
    this.clients = [];
    this.arrivals = [];
  }
}
