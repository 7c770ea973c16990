import { expect, test } from '@playwright/test';
import { startWeb, startWorker, type Started } from '../support/processes';
import { E2E_DATABASE_URL, E2E_REDIS_PREFIX, E2E_WEB_PORT } from '../support/env';
import { ProfilePage, sql } from './support';

// With no worker, nothing copies changes into the cache: the page must say so
// instead of showing "Live" beside numbers that no longer move, reads must
// come from Postgres, and the clicking tab must still show its own write.
// This spec runs its own web process and worker on a key prefix of their own,
// so killing that worker leaves the rest of the suite's pipeline alone.

const PORT = E2E_WEB_PORT + 5;
const base = `http://127.0.0.1:${PORT}`;
const env = {
  DATABASE_URL: E2E_DATABASE_URL,
  REDIS_PREFIX: E2E_REDIS_PREFIX.replace(/:$/, '-paused:'),
  WEB_CONCURRENCY: '1',
};

test.describe.configure({ timeout: 120_000 });

let web: Started | undefined;
let worker: Started | undefined;

test.beforeAll(async () => {
  worker = await startWorker(env);
  web = await startWeb(env, PORT);
});

test.afterAll(async () => {
  await web?.stop();
  await worker?.stop();
});

test('with the worker killed, pages say live updates are paused, the clicking tab shows its own write, and all resume when a worker is back', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: base });
  const clicking = await new ProfilePage(await context.newPage()).open('judy');
  const watching = await new ProfilePage(await context.newPage()).open('judy');
  const before = await clicking.value('likes');

  await worker!.kill();
  // The worker's announcement lives 15 s; within about 20 s every page says why nothing moves.
  for (const page of [clicking, watching]) {
    await expect(page.liveStatus).toHaveAttribute('data-state', 'paused', { timeout: 25_000 });
    await expect(page.page.getByTestId('live-notice')).toContainText(/worker/i);
  }

  // The click still commits, and the clicking tab shows the row its POST committed.
  await clicking.plus('likes').click();
  await clicking.expectValue('likes', before + 1);
  await expect(clicking.message).not.toContainText(/nothing was changed|could not/i);

  // Reads no longer trust the cache nobody keeps: the API and a fresh page say what Postgres says.
  const api = (await (await fetch(`${base}/v1/profile/judy`)).json()) as { likes: number };
  expect(api.likes).toBe(before + 1);
  const fresh = await context.newPage();
  await fresh.goto('/judy');
  await expect(fresh.getByTestId('counter-likes')).toHaveAttribute('data-value', String(before + 1));

  // A worker comes back: the badge says live again and the other tab catches up, with no reload.
  worker = await startWorker(env);
  for (const page of [clicking, watching]) await expect(page.liveStatus).toHaveAttribute('data-state', 'live', { timeout: 25_000 });
  await watching.expectValue('likes', before + 1);
  await sql("UPDATE profiles SET likes = likes + 2 WHERE username = 'judy'");
  await watching.expectValue('likes', before + 3);
  await clicking.expectValue('likes', before + 3);
  await context.close();
});
