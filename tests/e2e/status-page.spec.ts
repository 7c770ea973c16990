import { expect, test, type Page } from '@playwright/test';
import { screenshot, sql } from './support';

const value = async (page: Page, testId: string) => Number(await page.getByTestId(testId).getAttribute('data-value'));

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

test('the numbers and plots move when updates flow', async ({ page }) => {
  await page.goto('/status');
  await expect(page.getByTestId('stat-changes-seen')).toHaveAttribute('data-value', /\d+/);
  const seen = await value(page, 'stat-changes-seen');
  const plotted = Number(await page.getByTestId('chart-latency-histogram').getAttribute('data-total'));

  // Made by hand in SQL, as psql would: the trigger, the worker, Redis and the web process all count them.
  for (let i = 0; i < 12; i += 1) await sql("UPDATE profiles SET likes = likes + 1 WHERE username = 'frank'");

  // The worker keeps only the newest of a profile's changes that arrive in one batch, so
  // fewer than 12 may be published: the figures must move, not match the count.
  await expect.poll(() => value(page, 'stat-changes-seen')).toBeGreaterThan(seen);
  await expect.poll(async () => Number(await page.getByTestId('chart-latency-histogram').getAttribute('data-total'))).toBeGreaterThan(plotted);
  await expect(page.getByTestId('stat-stream-latency')).toHaveText(/ms$/);
  // The worker's own figures arrive with its next announcement, every 5 s.
  await expect(page.getByTestId('stat-worker-lag')).toHaveText(/ms$/, { timeout: 12_000 });
  await expect(page.getByTestId('chart-rate').locator('path').first()).toHaveAttribute('d', /L/);
  await expect(page.getByTestId('stat-last-resync')).toHaveText(/ms$/);
  await screenshot(page, 'status');
});

test('the status page follows the dark colour scheme', async ({ browser }) => {
  const colours = async (colorScheme: 'light' | 'dark') => {
    const context = await browser.newContext({ colorScheme });
    const page = await context.newPage();
    await page.goto('/status');
    const card = page.getByTestId('chart-rate');
    await expect(card).toBeVisible();
    const [background, text] = await card.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
    if (colorScheme === 'dark') await screenshot(page, 'status-dark');
    await context.close();
    return { background, text };
  };
  const light = await colours('light');
  const dark = await colours('dark');
  expect(dark.background).not.toBe(light.background);
  expect(dark.text).not.toBe(light.text);
  expect(dark.background).not.toBe(dark.text);
});

test('the status page fits a phone screen', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await page.goto('/status');
  await expect(page.getByTestId('chart-latency-histogram')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, 'status-phone', { width: 375, height: 740 });
  await context.close();
});
