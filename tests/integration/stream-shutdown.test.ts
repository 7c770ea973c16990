import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVE_WEB_PORT, testEnv } from '../support/env';
import { waitFor } from '../support/processes';

// After SIGTERM a web process closes its streams and exits after
// SHUTDOWN_GRACE_MS. A stream opened in between, on a keep-alive connection
// that was busy when the signal came, would hear nothing until the exit:
// it is refused instead, so the client reconnects to a process that stays.
// The web launcher's edge refuses every request once it stops; this is
// Next started by hand (`next start`), where only the route can.
describe('streams asked for after SIGTERM, with Next started by hand', () => {
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('are refused with 503 problem+json and Retry-After', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    child = spawn(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(LIVE_WEB_PORT), '-H', '127.0.0.1'], {
      cwd: root,
      env: { ...process.env, ...testEnv, SHUTDOWN_GRACE_MS: '3000', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${LIVE_WEB_PORT}/healthz`)).status > 0, 'next start', 60_000);
    const socket = net.connect(LIVE_WEB_PORT, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    await new Promise((resolve) => socket.once('connect', resolve));
    try {
      // A request still arriving when the signal comes keeps this connection open.
      socket.write('POST /v1/profile/alice HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"likes"');
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill('SIGTERM');
      await waitFor(() => /closed \d+ open streams/.test(output), 'the web process to begin shutting down');
      socket.write(': 1}');
      await waitFor(() => /\r\n\r\n/.test(received), 'the POST answer');
      expect(received).toMatch(/^HTTP\/1.1 200/);
      // The rest of its body.
      await new Promise((resolve) => setTimeout(resolve, 200));
      received = '';
      socket.write('GET /stream?u=alice HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await waitFor(() => /\r\n\r\n/.test(received), 'the stream answer', 2_000);
      const [head] = received.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1.1 503/);
      expect(head).toMatch(/content-type: application\/problem\+json/i);
      expect(head).toMatch(/retry-after: 1/i);
    } finally {
      socket.destroy();
    }
  });
});
