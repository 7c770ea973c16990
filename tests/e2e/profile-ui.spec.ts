import { expect, test } from '@playwright/test';
import { ProfilePage, screenshot } from './support';

test('a changed counter bumps briefly, and the badge says how long after commit it arrived', async ({ page }) => {
  const profile = await new ProfilePage(page).open('heidi');
  const likes = await profile.value('likes');
  const number = profile.counter('likes').locator('span');
  await expect(number).toHaveAttribute('data-changed', 'false');
  await expect(page.getByTestId('latency-badge')).toHaveCount(0);

  await profile.plus('likes').click();
  await profile.expectValue('likes', likes + 1);
  await expect(number).toHaveAttribute('data-changed', 'true');
  expect(await number.evaluate((el) => getComputedStyle(el).animationName)).toBe('counter-bump');
  // Same machine, same clock: the badge can say how long the trip took.
  await expect(page.getByTestId('latency-badge')).toHaveText(/^seen \d+ ms after commit$/);
  await expect(page.getByTestId('latency-badge')).toHaveAttribute('title', /same machine|this machine/);
});

test('the counters work from the keyboard alone', async ({ page }) => {
  const profile = await new ProfilePage(page).open('ivan');
  const likes = await profile.value('likes');
  for (let i = 0; i < 30; i += 1) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) === 'Likes plus one') break;
  }
  await expect(profile.plus('likes')).toBeFocused();
  await page.keyboard.press('Enter');
  await profile.expectValue('likes', likes + 1);
  await page.keyboard.press('Space');
  await profile.expectValue('likes', likes + 2);
  await page.keyboard.press('Shift+Tab');
  await expect(profile.minus('likes')).toBeFocused();
  await page.keyboard.press('Enter');
  await profile.expectValue('likes', likes + 1);
});

test('429 from the server (a rate limiter in front) is explained, and nothing changes', async ({ page }) => {
  const profile = await new ProfilePage(page).open('judy');
  const likes = await profile.value('likes');
  // Ripple has no rate limiter itself; a proxy in front may answer 429, so that answer is staged here.
  await page.route('**/v1/profile/judy', (route) =>
    route.request().method() === 'POST'
      ? route.fulfill({
          status: 429,
          headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '3' },
          body: JSON.stringify({ type: 'urn:ripple:problem:too-many-requests', title: 'Too many requests', status: 429, detail: 'Slow down.' }),
        })
      : route.continue(),
  );
  await profile.plus('likes').click();
  await expect(profile.message).toHaveText('Too many clicks at once: nothing was changed. Wait 3 s and try again.');
  await profile.expectValue('likes', likes);
});

test('the profile page fits a phone screen and follows dark mode', async ({ browser }) => {
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: 'dark' });
  const page = await phone.newPage();
  await new ProfilePage(page).open('alice');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByRole('button', { name: 'Likes plus one' })).toBeInViewport();
  const card = page.locator('article');
  const dark = await card.evaluate((el) => getComputedStyle(el).backgroundColor);
  await screenshot(page, 'profile-phone-dark', { width: 375, height: 740 });
  await phone.close();

  const desktop = await browser.newContext({ colorScheme: 'light' });
  const lightPage = await desktop.newPage();
  const profile = await new ProfilePage(lightPage).open('alice');
  expect(await lightPage.locator('article').evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe(dark);
  await profile.plus('followers').click();
  await expect(lightPage.getByTestId('latency-badge')).toBeVisible();
  await screenshot(lightPage, 'profile');
  await desktop.close();
});
