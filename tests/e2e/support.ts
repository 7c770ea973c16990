import { expect, type Locator, type Page } from '@playwright/test';
import pg from 'pg';
import { E2E_DATABASE_URL } from '../support/env';

type Counter = 'followers' | 'followings' | 'likes';

/** The profile page, seen the way a person uses it. */
export class ProfilePage {
  constructor(readonly page: Page) {}

  async open(username: string): Promise<this> {
    await this.page.goto(`/${username}`);
    await expect(this.liveStatus).toHaveAttribute('data-state', 'live');
    return this;
  }

  get liveStatus(): Locator {
    return this.page.getByTestId('live-status');
  }

  get message(): Locator {
    return this.page.getByTestId('profile-error');
  }

  counter(name: Counter): Locator {
    return this.page.getByTestId(`counter-${name}`);
  }

  async value(name: Counter): Promise<number> {
    return Number(await this.counter(name).getAttribute('data-value'));
  }

  async expectValue(name: Counter, value: number): Promise<void> {
    await expect(this.counter(name)).toHaveAttribute('data-value', String(value));
  }

  plus(name: Counter): Locator {
    return this.page.getByTestId(`increment-${name}`);
  }

  minus(name: Counter): Locator {
    return this.page.getByTestId(`decrement-${name}`);
  }
}

/** Straight to the e2e database, as `psql` would: the trigger must publish it. */
export async function sql(text: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: E2E_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text, params);
  } finally {
    await client.end();
  }
}

/**
 * README's screenshots. Every run takes them (under test-results/); `npm run
 * screenshots` writes them into docs/ so a plain test run leaves the tree clean.
 * A fixed viewport (not the full page) keeps the PNGs small.
 */
export async function screenshot(page: Page, name: string, size = { width: 1000, height: 800 }): Promise<void> {
  const dir = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/screenshots';
  await page.setViewportSize(size);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: false, animations: 'disabled', caret: 'hide' });
}
