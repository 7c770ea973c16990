import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, testPool } from '../support/db';
import { TEST_DATABASE_URL, TEST_WEB_URL, TEST_WORKER_METRICS_PORT } from '../support/env';
import { openStream, post } from '../support/http';
import { startWorker, waitFor, type Started } from '../support/processes';
import { sample, scrape } from '../support/prometheus';

const workerUrl = `http://127.0.0.1:${TEST_WORKER_METRICS_PORT}/metrics`;
const webUrl = `${TEST_WEB_URL}/metrics`;
const postOk = { route: '/v1/profile/[username]', method: 'POST', status: '200' };

describe('Prometheus metrics from the real web server and worker', () => {
  let pool: pg.Pool;
  let worker: Started;

  beforeAll(async () => {
    pool = testPool();
    // A password in the URL (trust auth ignores it) proves the logs never carry it.
    const withPassword = TEST_DATABASE_URL.replace('postgres@', 'postgres:s3cret-pw@');
    worker = await startWorker({ WORKER_METRICS_PORT: String(TEST_WORKER_METRICS_PORT), DATABASE_URL: withPassword, LOG_LEVEL: 'debug' });
  });

  afterAll(async () => {
    await worker?.stop();
    await pool?.end();
  });

  it('both answer in Prometheus text format with the usual process metrics', async () => {
    for (const url of [webUrl, workerUrl]) {
      const { status, contentType, text } = await scrape(url);
      expect(status).toBe(200);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    }
    const worker = (await scrape(workerUrl)).text;
    expect(sample(worker, 'ripple_worker_listening')).toBe(1);
    expect(sample(worker, 'ripple_worker_resync_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('the counters move when updates flow: requests, notifications, batches, latency, fan-out', async () => {
    await createProfile(pool, 'metric_user');
    const stream = openStream('/stream?u=metric_user');
    await waitFor(() => stream.profiles().length > 0, 'the snapshot');
    const web0 = (await scrape(webUrl)).text;
    const worker0 = (await scrape(workerUrl)).text;
    expect(sample(web0, 'ripple_sse_open_streams')).toBeGreaterThanOrEqual(1);

    for (let i = 0; i < 5; i += 1) expect((await post('metric_user', { likes: 1 })).status).toBe(200);
    await waitFor(() => stream.profiles().some((p) => p.likes === 5), 'the last change on the stream');
    await stream.close();

    const web1 = (await scrape(webUrl)).text;
    const worker1 = (await scrape(workerUrl)).text;
    const grew = (before: string, after: string, name: string, labels?: Record<string, string>) =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);

    expect(grew(web0, web1, 'ripple_http_requests_total', postOk)).toBe(5);
    expect(grew(web0, web1, 'ripple_http_request_duration_seconds_count', postOk)).toBe(5);
    // Every notification is counted; after that, the worker keeps only the newest of a
    // profile's changes that arrive in one batch, so later stages may count fewer than 5.
    expect(grew(worker0, worker1, 'ripple_worker_notifications_total')).toBeGreaterThanOrEqual(5);
    expect(grew(worker0, worker1, 'ripple_worker_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(grew(worker0, worker1, 'ripple_worker_batch_size_sum')).toBeGreaterThanOrEqual(1);
    expect(grew(worker0, worker1, 'ripple_worker_cache_writes_applied_total', { source: 'live' })).toBeGreaterThanOrEqual(1);
    expect(grew(worker0, worker1, 'ripple_worker_commit_to_cache_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(grew(web0, web1, 'ripple_live_messages_total')).toBeGreaterThanOrEqual(1);
    expect(grew(web0, web1, 'ripple_sse_events_sent_total')).toBeGreaterThanOrEqual(1);
    expect(grew(web0, web1, 'ripple_commit_to_stream_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(worker1, 'ripple_worker_notification_queue_usage')).toBeGreaterThanOrEqual(0);
  });

  it('a 404 is counted under the route pattern and its status, not the raw URL', async () => {
    await post('nobody_here', { likes: 1 });
    const text = (await scrape(webUrl)).text;
    expect(sample(text, 'ripple_http_requests_total', { ...postOk, status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('nobody_here');
  });

  it('a second worker on the same metrics port logs it and keeps working', async () => {
    const second = await startWorker({ WORKER_METRICS_PORT: String(TEST_WORKER_METRICS_PORT) });
    try {
      expect(second.output()).toMatch(/metrics port .* is taken/);
      expect(second.child.exitCode).toBeNull();
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('no log line carries the database password', () => {
    expect(worker.output()).toContain('listening for profile changes');
    expect(worker.output()).not.toContain('s3cret-pw');
  });
});
