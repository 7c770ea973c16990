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

test('a well-formed name with no profile says there is no such profile, and nothing about the format', async ({ page }) => {
  const response = await page.goto('/nobody');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'There is no profile @nobody' })).toBeVisible();
  await expect(page.getByText('lowercase letters')).toHaveCount(0);
});

test('a name that cannot be a username explains the format', async ({ page }) => {
  const response = await page.goto('/not%20a%20name!');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'No such profile' })).toBeVisible();
  await expect(page.getByText('“not a name!” is not a username: usernames are 1 to 15 lowercase letters, digits or underscores.')).toBeVisible();
});

test('mixed-case profile URLs redirect to the lowercase one', async ({ page }) => {
  const response = await page.request.get('/Alice', { maxRedirects: 0 });
  expect(response.status()).toBe(308);
  expect(response.headers()['location']).toBe('/alice');
  await page.goto('/Alice');
  await expect(page).toHaveURL(/\/alice$/);
  await expect(page.getByRole('heading', { name: 'Alice Martin' })).toBeVisible();
  await page.goto('/Nobody');
  await expect(page).toHaveURL(/\/nobody$/);
  await expect(page.getByRole('heading', { name: 'There is no profile @nobody' })).toBeVisible();
});

test('a click whose answer is lost is sent again with the same Idempotency-Key, and applies once', async ({ page }) => {
  const profile = await new ProfilePage(page).open('heidi');
  const likes = await profile.value('likes');
  const keys: string[] = [];
  await page.route('**/v1/profile/heidi', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length > 1) return route.continue();
    // The first attempt reaches the server and commits; only its answer is lost on the way back.
    await route.fetch();
    return route.abort('connectionreset');
  });
  await profile.plus('likes').click();
  await profile.expectValue('likes', likes + 1);
  await expect.poll(() => keys.length).toBe(2);
  expect(keys[0]).toMatch(/^[0-9a-f-]{32,36}$/);
  expect(keys[1]).toBe(keys[0]);
  // Applied once, not twice: Postgres says so, and the stream agrees.
  const row = (await (await page.request.get('/v1/profile/heidi')).json()) as { likes: number };
  expect(row.likes).toBe(likes + 1);
  await expect(profile.message).not.toContainText(/could not|may not/i);
});
