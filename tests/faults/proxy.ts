import net from 'node:net';

// A TCP proxy in front of Redis that can misbehave the way networks do, for
// the connections that subscribe: hold their SUBSCRIBE back (a slow link), or
// stop passing their bytes without closing anything (a dead route).

export type RedisProxy = {
  url: string;
  /** From now on, a connection's bytes from the first SUBSCRIBE on reach Redis this much later (each chunk, as on a slow link). */
  delaySubscribe(ms: number): void;
  /** Stops passing bytes, both ways, on every connection that has subscribed; nothing is closed. */
  blackholeSubscribers(): number;
  close(): Promise<void>;
};

export async function startRedisProxy(listenPort: number, redisPort: number): Promise<RedisProxy> {
  let subscribeDelayMs = 0;
  const connections = new Set<{ client: net.Socket; upstream: net.Socket; subscribed: boolean; dead: boolean }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1');
    const connection = { client, upstream, subscribed: false, dead: false };
    connections.add(connection);
    let delay = 0;
    // Chunks keep their order: each waits for the one before it.
    let queue = Promise.resolve();
    client.on('data', (chunk) => {
      if (connection.dead) return;
      // The command itself (a RESP bulk string), not the word inside some value.
      if (!connection.subscribed && /\$9\r\nsubscribe\r\n/i.test(chunk.toString('latin1'))) {
        connection.subscribed = true;
        delay = subscribeDelayMs;
      }
      // Latency, not a queue of delays: each chunk arrives `delay` after it was sent, in order.
      const due = Date.now() + delay;
      queue = queue.then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())))).then(() => {
        if (!connection.dead && !upstream.destroyed) upstream.write(chunk);
      });
    });
    upstream.on('data', (chunk) => {
      if (!connection.dead && !client.destroyed) client.write(chunk);
    });
    const end = () => {
      connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${listenPort}`,
    delaySubscribe(ms) {
      subscribeDelayMs = ms;
    },
    blackholeSubscribers() {
      let count = 0;
      for (const connection of connections) {
        if (connection.subscribed) {
          connection.dead = true;
          count += 1;
        }
      }
      return count;
    },
    async close() {
      for (const { client, upstream } of connections) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
