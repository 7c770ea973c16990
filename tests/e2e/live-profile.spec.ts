import { expect, test } from '@playwright/test';
import { ProfilePage, sql } from './support';

test('a click in one tab shows in the other, through Postgres and the cache', async ({ browser }) => {
  const context = await browser.newContext();
  const first = await new ProfilePage(await context.newPage()).open('alice');
  const second = await new ProfilePage(await context.newPage()).open('alice');

  const likes = await first.value('likes');
  await second.expectValue('likes', likes);

  await first.plus('likes').click();
  await second.expectValue('likes', likes + 1);
  await first.expectValue('likes', likes + 1);

  const followers = await second.value('followers');
  await second.minus('followers').click();
  await first.expectValue('followers', followers - 1);
  await second.expectValue('followers', followers - 1);
  await context.close();
});

test('a change made by hand in SQL reaches the open tab', async ({ page }) => {
  const profile = await new ProfilePage(page).open('bob');
  const likes = await profile.value('likes');
  await sql("UPDATE profiles SET likes = likes + 5 WHERE username = 'bob'");
  await profile.expectValue('likes', likes + 5);
});

test('− at zero explains why and the number stays at zero', async ({ page }) => {
  await sql("UPDATE profiles SET followings = 0 WHERE username = 'carol'");
  const profile = await new ProfilePage(page).open('carol');
  await profile.expectValue('followings', 0);

  await profile.minus('followings').click();
  await expect(profile.message).toContainText("Following can't go below zero");
  await profile.expectValue('followings', 0);
  await expect(profile.counter('followings')).toHaveText('0');
});

test('counters have accessible names and announce changes politely', async ({ page }) => {
  const profile = await new ProfilePage(page).open('dave');
  await expect(page.getByRole('button', { name: 'Likes plus one' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Followers minus one' })).toBeVisible();
  await expect(profile.counter('likes')).toHaveAttribute('aria-live', 'polite');
  await expect(page.getByRole('heading', { name: 'Dave Kowalski' })).toBeVisible();
});

test('the page works under its Content-Security-Policy, with no violations', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto('/alice');
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self' 'nonce-");
  expect(response?.headers()['x-content-type-options']).toBe('nosniff');
  expect(response?.headers()['referrer-policy']).toBe('strict-origin-when-cross-origin');
  const profile = new ProfilePage(page);
  await expect(profile.liveStatus).toHaveAttribute('data-state', 'live');
  const likes = await profile.value('likes');
  await profile.plus('likes').click();
  await profile.expectValue('likes', likes + 1);
  expect(violations).toEqual([]);
});

test('an unknown profile shows a clear not-found page', async ({ page }) => {
  const response = await page.goto('/nobody_at_all');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'No such profile' })).toBeVisible();
});
