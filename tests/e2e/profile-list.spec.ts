import { expect, test } from '@playwright/test';
import { sql } from './support';

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
