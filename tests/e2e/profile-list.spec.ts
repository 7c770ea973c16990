import { expect, test } from '@playwright/test';
import { screenshot, sql } from './support';

test('the list page shows every profile and updates live', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-state', 'live');
  await expect(page.getByRole('link', { name: /Alice Martin/ })).toBeVisible();
  await expect(page.getByRole('link', { name: /Bob Okafor/ })).toBeVisible();
  expect(await page.locator('[data-testid^="profile-row-"]').count()).toBeGreaterThanOrEqual(8);

  const likes = page.getByTestId('profile-row-erin').getByTestId('counter-likes');
  const before = Number(await likes.getAttribute('data-value'));
  await sql("UPDATE profiles SET likes = likes + 3 WHERE username = 'erin'");
  await expect(likes).toHaveAttribute('data-value', String(before + 3));
});

test('a row links to its profile page', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: /Grace Ibrahim/ }).click();
  await expect(page).toHaveURL(/\/grace$/);
  await expect(page.getByRole('heading', { name: 'Grace Ibrahim' })).toBeVisible();
});

test('on a phone the list shows every display name in full, with the counters under it', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await sql("UPDATE profiles SET display_name = 'Maximilian Alexander-Fitzgerald' WHERE username = 'frank'");
  try {
    await page.goto('/');
    await expect(page.getByTestId('live-status')).toHaveAttribute('data-state', 'live');
    const names = page.getByTestId('profile-name');
    expect(await names.count()).toBeGreaterThanOrEqual(8);
    for (const name of await names.all()) {
      // Not cut off: the whole text fits its box, with no ellipsis.
      const fits = await name.evaluate((el) => el.scrollWidth <= el.clientWidth + 1 && getComputedStyle(el).textOverflow !== 'ellipsis');
      expect(fits, `${await name.textContent()} is cut off`).toBe(true);
    }
    await expect(page.getByText('Maximilian Alexander-Fitzgerald')).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // The counters sit under the name, inside the row.
    const row = page.getByTestId('profile-row-alice');
    const nameBox = await row.getByTestId('profile-name').boundingBox();
    const likesBox = await row.getByTestId('counter-likes').boundingBox();
    expect(likesBox!.y).toBeGreaterThan(nameBox!.y + nameBox!.height - 1);
    await screenshot(page, 'list-phone', { width: 390, height: 844 });
  } finally {
    await sql("UPDATE profiles SET display_name = 'Frank Müller' WHERE username = 'frank'");
    await context.close();
  }
});
