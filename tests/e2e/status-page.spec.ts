import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { Redis } from 'ioredis';
import { deleteKeys } from '../support/db';
import { E2E_DATABASE_URL, E2E_REDIS_PREFIX, E2E_WEB_PORT } from '../support/env';
import { startWeb } from '../support/processes';
import { screenshot, sql } from './support';

const BASE = `http://127.0.0.1:${E2E_WEB_PORT}`;
const LINE_CHARTS = ['chart-writes', 'chart-refused', 'chart-latency', 'chart-queue'];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

const value = async (page: Page, testId: string) => Number(await page.getByTestId(testId).getAttribute('data-value'));

/** "1,500", "0.2M", "3e-6", "−2 min", "≤250", ">1s" → a number (minutes count back, buckets in ms); NaN for anything else. */
function tickNumber(label: string): number {
  if (label === 'now') return 0;
  const bucket = /^([≤>])([\d.]+)(s?)$/.exec(label);
  if (bucket) return Number(bucket[2]) * (bucket[3] ? 1000 : 1) + (bucket[1] === '>' ? 0.5 : 0);
  const minutes = /^−(\d+) min$/.exec(label);
  if (minutes) return -Number(minutes[1]);
  const si = /^(-?[\d.]+)([kMG])$/.exec(label);
  if (si) return Number(si[1]) * { k: 1e3, M: 1e6, G: 1e9 }[si[2] as 'k' | 'M' | 'G'];
  return Number(label.replace(/,/g, ''));
}

/** Font size as drawn on screen: the CSS size times any scaling of the SVG (a viewBox squeezed onto a phone shrinks it). */
async function drawnFontSizes(texts: Locator): Promise<number[]> {
  // The page redraws every second: measure only the elements still on it.
  const sizes = await texts.evaluateAll((elements) =>
    elements
      .filter((element) => element.isConnected)
      .map((element) => parseFloat(getComputedStyle(element).fontSize) * ((element as SVGGraphicsElement).getScreenCTM?.()?.a ?? 1)),
  );
  expect(sizes.length).toBeGreaterThan(0);
  return sizes;
}

async function expectReadableTicks(ticks: Locator, what: string) {
  const labels = (await ticks.allTextContents()).map((label) => label.trim());
  expect(labels.length, `${what}: at least two labels`).toBeGreaterThanOrEqual(2);
  expect(new Set(labels).size, `${what}: distinct labels ${labels.join(', ')}`).toBe(labels.length);
  const numbers = labels.map(tickNumber);
  expect(numbers.every(Number.isFinite), `${what}: numbers ${labels.join(', ')}`).toBe(true);
  expect([...numbers].sort((a, b) => a - b), `${what}: in order`).toEqual(numbers);
  for (const size of await drawnFontSizes(ticks)) expect(size, `${what}: font size`).toBeGreaterThanOrEqual(10);
}

/**
 * Every chart has readable axes, and every series in a legend is drawn where
 * one can see it: its own dash and width, a visible mark, and a legend note
 * when it coincides with another.
 */
async function expectReadableCharts(page: Page) {
  for (const id of LINE_CHARTS) {
    const chart = page.getByTestId(id);
    await chart.scrollIntoViewIfNeeded();
    await expect(chart.getByTestId('plot')).toBeVisible();
    await expectReadableTicks(chart.getByTestId('y-tick'), `${id} y-axis`);
    await expectReadableTicks(chart.getByTestId('x-tick'), `${id} x-axis`);
    const legend = chart.getByTestId('legend-item');
    const items = await legend.count();
    expect(items).toBeGreaterThanOrEqual(1);
    const looks = new Set<string>();
    for (let index = 0; index < items; index += 1) {
      const label = (await legend.nth(index).getAttribute('data-series'))!;
      const drawn = chart.locator(`[data-testid="series"][data-series="${label}"]`);
      expect(Number(await drawn.getAttribute('data-marks')), `${id}: "${label}" has a line or a marker`).toBeGreaterThan(0);
      const box = await drawn.boundingBox();
      expect(box && box.width > 0, `${id}: "${label}" takes up room on screen`).toBe(true);
      looks.add((await drawn.getAttribute('data-look'))!);
    }
    expect(looks.size, `${id}: every series has its own dash and width`).toBe(items);
    for (const size of await drawnFontSizes(chart.locator('svg[data-testid="plot"] text'))) expect(size).toBeGreaterThanOrEqual(10);
  }
  const histogram = page.getByTestId('chart-latency-histogram');
  await expectReadableTicks(histogram.getByTestId('x-tick'), 'histogram buckets');
  for (const size of await drawnFontSizes(histogram.locator('text'))) expect(size).toBeGreaterThanOrEqual(10);
}

/** The queue is nearly empty here: its line must lie at the bottom of an axis that reaches at least 1 %. */
async function expectQueueNearZero(page: Page) {
  const chart = page.getByTestId('chart-queue');
  const ticks = await chart.getByTestId('y-tick').allTextContents();
  expect(tickNumber(ticks.at(-1)!)).toBeGreaterThanOrEqual(1);
  const zero = await chart.getByTestId('y-tick').first().boundingBox();
  const line = await chart.getByTestId('series').first().boundingBox();
  expect(line!.y + line!.height).toBeLessThanOrEqual(zero!.y + zero!.height + 8);
  expect(line!.y).toBeGreaterThan(zero!.y - 12);
}

/** Writes at a steady pace from outside the browser, as many clients would, until the count is reached or the signal fires. */
async function pacedWrites({ perSecond, seconds, signal }: { perSecond: number; seconds: number; signal?: AbortSignal }) {
  const statuses: number[] = [];
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  for (let i = 0; i < perSecond * seconds && !signal?.aborted; i += 1) {
    const started = Date.now();
    const response = await fetch(`${BASE}/v1/profile/${names[i % names.length]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ likes: 1 }),
    });
    statuses.push(response.status);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 / perSecond - (Date.now() - started))));
  }
  return statuses;
}

async function phonePage(browser: Browser, colorScheme: 'light' | 'dark' = 'light') {
  const context = await browser.newContext({ viewport: PHONE, colorScheme });
  return { context, page: await context.newPage() };
}

test('the header links to the status page, which shows every part healthy', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Status' }).click();
  await expect(page).toHaveURL(/\/status$/);
  await expect(page.getByRole('heading', { name: 'System status' })).toBeVisible();
  await expect(page.getByTestId('health-postgres')).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('health-redis')).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('health-worker').first()).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('stat-workers')).toHaveText(/^[1-9]\d* \/ [1-9]/);
  await expect(page.getByTestId('web-process').first()).toContainText('answering this page');
});

test('with almost no load, every chart has readable axes and draws every series, on a desktop and on a phone', async ({ page, browser }) => {
  await sql("UPDATE profiles SET likes = likes + 1 WHERE username = 'erin'");
  await page.setViewportSize(DESKTOP);
  await page.goto('/status');
  // The worker's figures (lag, queue) arrive with its next announcement, every 5 s.
  await expect(page.getByTestId('chart-latency').locator('[data-testid="series"][data-series^="worker lag"]')).not.toHaveAttribute('data-marks', '0', { timeout: 12_000 });
  await expect(page.getByTestId('chart-queue').getByTestId('legend-item')).not.toHaveAttribute('data-remark', 'no data yet', { timeout: 12_000 });
  await expectReadableCharts(page);
  await expectQueueNearZero(page);

  const { context, page: phone } = await phonePage(browser);
  await phone.goto('/status');
  await expectReadableCharts(phone);
  await context.close();
});

test('the numbers and plots move when updates flow', async ({ page }) => {
  // A web process hears only the profiles its streams watch: a tab on frank makes it listen.
  const watcher = await page.context().newPage();
  await watcher.goto('/frank');
  await expect(watcher.getByTestId('live-status').first()).toHaveAttribute('data-state', 'live');
  await page.goto('/status');
  await expect(page.getByTestId('stat-changes-seen')).toHaveAttribute('data-value', /\d+/);
  const seen = await value(page, 'stat-changes-seen');
  const histogram = page.getByTestId('chart-latency-histogram').getByTestId('plot');
  const plotted = Number(await histogram.getAttribute('data-total'));

  // Made by hand in SQL, as psql would: the trigger, the worker, Redis and the web process all count them.
  for (let i = 0; i < 12; i += 1) await sql("UPDATE profiles SET likes = likes + 1 WHERE username = 'frank'");

  // The worker keeps only the newest of a profile's changes that arrive in one batch, so
  // fewer than 12 may be published: the figures must move, not match the count.
  await expect.poll(() => value(page, 'stat-changes-seen')).toBeGreaterThan(seen);
  await expect.poll(async () => Number(await histogram.getAttribute('data-total'))).toBeGreaterThan(plotted);
  await expect(page.getByTestId('stat-stream-latency')).toHaveText(/ms$/);
  // The worker's own figures arrive with its next announcement, every 5 s.
  await expect(page.getByTestId('stat-worker-lag')).toHaveText(/ms$/, { timeout: 12_000 });
  await expect(page.getByTestId('chart-writes').locator('[data-series="changes heard by this web process"] path').first()).toHaveAttribute('d', /L/);
  await expect(page.getByTestId('stat-last-resync')).toHaveText(/ms$/);
});

test('under a paced load, accepted writes and changes show side by side, and every chart stays readable', async ({ page }) => {
  await page.setViewportSize(DESKTOP);
  await page.goto('/status');
  const load = pacedWrites({ perSecond: 25, seconds: 8 });
  // Accepted writes per second are counted from the last finished 3 s step.
  await expect.poll(() => value(page, 'stat-accepted-per-second'), { timeout: 10_000 }).toBeGreaterThan(5);
  await expect.poll(() => value(page, 'stat-changes-per-second'), { timeout: 12_000 }).toBeGreaterThan(0);
  await expectReadableCharts(page);
  expect((await load).every((status) => status === 200)).toBe(true);
  const writes = page.getByTestId('chart-writes');
  await expect(writes).toContainText('coalesced');
  await expect(writes.locator('[data-testid="legend-item"][data-series="writes accepted (2xx)"]')).toHaveAttribute('data-remark', '');
  await expectReadableCharts(page);
});

test('a burst that hits the rate limit shows refused writes by reason, added up over every web process', async ({ page, browser }) => {
  // A second web process on the same database and Redis with a small write budget: real 429s.
  const port = E2E_WEB_PORT + 3;
  const limited = await startWeb(
    { DATABASE_URL: E2E_DATABASE_URL, REDIS_PREFIX: E2E_REDIS_PREFIX, RATE_LIMIT_BURST: '5', RATE_LIMIT_PER_SECOND: '1', LOG_LEVEL: 'warn' },
    port,
  );
  const redis = new Redis('redis://127.0.0.1:6379');
  try {
    await page.goto('/status');
    const before = {
      rateLimited: await value(page, 'refused-rateLimited'),
      belowZero: await value(page, 'refused-belowZero'),
      badRequest: await value(page, 'refused-badRequest'),
    };
    const write = (body: string, name = 'grace') =>
      fetch(`http://127.0.0.1:${port}/v1/profile/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status);

    await sql("UPDATE profiles SET followings = 0 WHERE username = 'grace'");
    expect(await write('{"followings": -1}')).toBe(409);
    expect(await write('{"likes": "many"}')).toBe(422);
    const burst = await Promise.all(Array.from({ length: 40 }, () => write('{"likes": 1}')));
    const limitedCount = burst.filter((status) => status === 429).length;
    expect(limitedCount).toBeGreaterThanOrEqual(30);

    // The page is served by the first web process; the second one's figures arrive with its announcement (every 5 s).
    await expect.poll(() => value(page, 'refused-rateLimited'), { timeout: 12_000 }).toBeGreaterThanOrEqual(before.rateLimited + limitedCount);
    expect(await value(page, 'refused-belowZero')).toBeGreaterThanOrEqual(before.belowZero + 1);
    expect(await value(page, 'refused-badRequest')).toBeGreaterThanOrEqual(before.badRequest + 1);
    await expect(page.getByTestId('stat-refused').locator('xpath=..')).toContainText(`${await value(page, 'refused-rateLimited')} rate limit`);
    const refused = page.getByTestId('chart-refused');
    await expect(refused.locator('[data-testid="legend-item"][data-series="rate limit (429)"]')).toHaveAttribute('data-remark', '');
    // Each process's own row: the second one answered the refused writes.
    await expect(page.getByTestId('web-process')).toHaveCount(2);
    await expect(page.getByTestId('web-process').filter({ hasNotText: 'answering this page' }).getByTestId('web-process-writes')).toContainText(
      `${burst.length - limitedCount} (${limitedCount + 2})`,
    );
    await expectReadableCharts(page);

    // README's screenshots: the page with writes, refusals and changes on it, light and dark, desktop and phone.
    const steady = new AbortController();
    const background = pacedWrites({ perSecond: 10, seconds: 60, signal: steady.signal });
    // Until the second process announces again, the sum over both stops a few seconds back: wait until it covers the load.
    await expect.poll(() => value(page, 'stat-accepted-per-second'), { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ viewport: DESKTOP, colorScheme });
      const desktop = await context.newPage();
      await desktop.goto('/status');
      await expect(desktop.getByTestId('chart-refused').getByTestId('plot')).toBeVisible();
      await screenshot(desktop, colorScheme === 'light' ? 'status' : 'status-dark', DESKTOP);
      await context.close();

      const { context: phoneContext, page: phone } = await phonePage(browser, colorScheme);
      await phone.goto('/status');
      await phone.getByTestId('chart-writes').scrollIntoViewIfNeeded();
      await phone.evaluate(() => window.scrollBy(0, document.querySelector('[data-testid="chart-writes"]')!.getBoundingClientRect().top - 12));
      await expect(phone.getByTestId('chart-writes').getByTestId('plot')).toBeVisible();
      await screenshot(phone, colorScheme === 'light' ? 'status-phone' : 'status-phone-dark', PHONE);
      await phoneContext.close();
    }
    steady.abort();
    expect((await background).every((status) => status === 200)).toBe(true);
  } finally {
    await limited.stop();
    // The burst emptied this client's shared bucket; give later tests a full one.
    await deleteKeys(redis, `${E2E_REDIS_PREFIX}ratelimit:`);
    redis.disconnect();
  }
});

test('the status page follows the dark colour scheme', async ({ browser }) => {
  const colours = async (colorScheme: 'light' | 'dark') => {
    const context = await browser.newContext({ colorScheme });
    const page = await context.newPage();
    await page.goto('/status');
    const card = page.getByTestId('chart-writes');
    await expect(card).toBeVisible();
    const [background, text] = await card.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
    await context.close();
    return { background, text };
  };
  const light = await colours('light');
  const dark = await colours('dark');
  expect(dark.background).not.toBe(light.background);
  expect(dark.text).not.toBe(light.text);
  expect(dark.background).not.toBe(dark.text);
});

test('the status page fits a phone screen, and long names break only where they may', async ({ browser }) => {
  const { context, page } = await phonePage(browser);
  await page.goto('/status');
  await expect(page.getByTestId('chart-latency-histogram').getByTestId('plot')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  // Chart cards side by side (or stacked) have plots of one height, ending at the card's bottom edge.
  const heights = await page.getByTestId('plot').evaluateAll((plots) => plots.map((plot) => plot.getBoundingClientRect().height));
  expect(new Set(heights).size).toBe(1);
  // pg_notification_queue_usage() may wrap at an underscore, never inside a word.
  const pieces = await page.getByTestId('stat-queue').locator('xpath=..').locator('code').evaluate((code) =>
    [...code.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => {
      const range = document.createRange();
      range.selectNodeContents(node);
      return { text: node.textContent, lines: new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size };
    }),
  );
  expect(pieces.map((piece) => piece.text).join('')).toBe('pg_notification_queue_usage()');
  for (const piece of pieces) expect(piece.lines, piece.text ?? '').toBe(1);
  await context.close();
});

test('chart cards side by side line up on a desktop', async ({ page }) => {
  await page.setViewportSize(DESKTOP);
  await page.goto('/status');
  await expect(page.getByTestId('chart-refused').getByTestId('plot')).toBeVisible();
  const rows = [
    ['chart-writes', 'chart-refused'],
    ['chart-latency', 'chart-latency-histogram'],
  ];
  for (const [left, right] of rows) {
    const a = await page.getByTestId(left).boundingBox();
    const b = await page.getByTestId(right).boundingBox();
    expect(a!.y).toBe(b!.y);
    expect(a!.height).toBe(b!.height);
    const plotA = await page.getByTestId(left).getByTestId('plot').boundingBox();
    const plotB = await page.getByTestId(right).getByTestId('plot').boundingBox();
    expect(plotA!.y).toBe(plotB!.y);
  }
});
