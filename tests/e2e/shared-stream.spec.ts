import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { ProfilePage, sql } from './support';

// Browsers allow six HTTP/1.1 connections per origin across all tabs: with a
// stream per tab the sixth tab froze the app. Every tab of a browser now
// shares one stream, held by a SharedWorker, or by a tab elected leader.

test.describe.configure({ timeout: 120_000 });

async function openStreams(page: Page): Promise<number> {
  const text = await (await page.request.get('/metrics')).text();
  const line = text.split('\n').find((row) => row.startsWith('ripple_sse_open_streams '));
  return Number(line?.split(' ')[1] ?? NaN);
}

type Debug = { mode: string; leader: boolean; watching: string[]; delivered: Record<string, number> };
const debug = (page: Page) => page.evaluate(() => (globalThis as unknown as { rippleLive: { debug(): Debug } }).rippleLive.debug());

async function openTabs(context: BrowserContext, path: string, count: number): Promise<Page[]> {
  const pages = await Promise.all(Array.from({ length: count }, () => context.newPage()));
  await Promise.all(pages.map((page) => page.goto(path)));
  for (const page of pages) await expect(page.getByTestId('live-status').first()).toHaveAttribute('data-state', 'live');
  return pages;
}

const likes = (page: Page, username?: string) =>
  (username ? page.getByTestId(`profile-row-${username}`) : page).getByTestId('counter-likes').getAttribute('data-value').then(Number);

/** Every page shows the value within the timeout, all counted from the same moment. */
async function expectLikes(pages: Page[], value: number, username?: string, timeout = 2_000): Promise<void> {
  await Promise.all(
    pages.map((page) => {
      const scope = username ? page.getByTestId(`profile-row-${username}`) : page;
      return expect(scope.getByTestId('counter-likes')).toHaveAttribute('data-value', String(value), { timeout });
    }),
  );
}

test('fifteen tabs of one browser share one stream, and a click in any of them reaches all within 2 s', async ({ browser, page }) => {
  const before = await openStreams(page);
  const context = await browser.newContext();
  const alice = await openTabs(context, '/alice', 12);
  const lists = await openTabs(context, '/', 2);
  const [bob] = await openTabs(context, '/bob', 1);
  expect((await debug(bob)).mode).toBe('shared-worker');

  // The server holds one stream for this browser, however many tabs it has.
  await expect.poll(() => openStreams(page), { timeout: 5_000 }).toBe(before + 1);

  // A click in the last tab reaches every tab that shows bob.
  const bobLikes = await likes(bob);
  await new ProfilePage(bob).plus('likes').click();
  await expectLikes([bob], bobLikes + 1);
  await expectLikes(lists, bobLikes + 1, 'bob');

  // Clicks work in every tab, and every other tab follows.
  let aliceLikes = await likes(alice[0]);
  for (const tab of alice) {
    await new ProfilePage(tab).plus('likes').click();
    aliceLikes += 1;
    await expectLikes(alice, aliceLikes);
    await expectLikes(lists, aliceLikes, 'alice');
  }
  expect(await openStreams(page)).toBe(before + 1);
  await context.close();
  await expect.poll(() => openStreams(page)).toBe(before);
});

test('when the SharedWorker holding the stream dies, a tab takes over and every tab keeps following', async ({ browser }) => {
  const context = await browser.newContext();
  const tabs = await openTabs(context, '/carol', 4);
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; targetId: string }> };
  const workers = targetInfos.filter((target) => target.type === 'shared_worker');
  expect(workers).toHaveLength(1);

  let value = await likes(tabs[0]);
  await cdp.send('Target.closeTarget', { targetId: workers[0].targetId });
  // Keep clicking through the hand-over: every click must show in every tab.
  for (const tab of [tabs[3], tabs[1], tabs[2]]) {
    await new ProfilePage(tab).plus('likes').click();
    value += 1;
    await expectLikes(tabs, value);
  }
  const modes = await Promise.all(tabs.map(async (tab) => (await debug(tab)).mode));
  expect(new Set(modes)).toEqual(new Set(['leader-tab']));
  expect((await Promise.all(tabs.map(debug))).filter((each) => each.leader)).toHaveLength(1);
  await cdp.detach();
  await context.close();
});

test('without SharedWorker, a leader tab holds the stream; close it and another takes over', async ({ browser, page }) => {
  const before = await openStreams(page);
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
  });
  const tabs = await openTabs(context, '/dave', 4);
  await expect.poll(() => openStreams(page), { timeout: 5_000 }).toBe(before + 1);
  const states = await Promise.all(tabs.map(debug));
  expect(states.map((state) => state.mode)).toEqual(['leader-tab', 'leader-tab', 'leader-tab', 'leader-tab']);
  const leader = states.findIndex((state) => state.leader);
  expect(leader).toBeGreaterThanOrEqual(0);

  await tabs[leader].close();
  const rest = tabs.filter((_, index) => index !== leader);
  let value = await likes(rest[0]);
  for (const tab of rest) {
    await new ProfilePage(tab).plus('likes').click();
    value += 1;
    await expectLikes(rest, value);
  }
  expect((await Promise.all(rest.map(debug))).filter((state) => state.leader)).toHaveLength(1);
  await expect.poll(() => openStreams(page), { timeout: 5_000 }).toBe(before + 1);
  await context.close();
});

test('where tabs cannot share (no SharedWorker, no Web Locks), each tab still has its own working stream', async ({ browser, page }) => {
  const before = await openStreams(page);
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
  });
  const tabs = await openTabs(context, '/erin', 2);
  expect((await debug(tabs[0])).mode).toBe('own-tab');
  await expect.poll(() => openStreams(page), { timeout: 5_000 }).toBe(before + 2);
  const value = await likes(tabs[0]);
  await new ProfilePage(tabs[1]).plus('likes').click();
  await expectLikes(tabs, value + 1);
  await context.close();
});

test('a tab that navigates from /alice to /bob gets bob, and alice stops reaching it', async ({ browser }) => {
  const context = await browser.newContext();
  const [moving, staying] = await openTabs(context, '/alice', 2);
  // Client-side navigation, as a person does it: the tab keeps its live client.
  await moving.getByRole('link', { name: 'Profiles' }).click();
  await moving.getByTestId('profile-row-bob').getByRole('link').click();
  await expect(moving).toHaveURL(/\/bob$/);
  await expect(moving.getByTestId('display-name')).toHaveText('Bob Okafor');
  await expect.poll(async () => (await debug(moving)).watching).toEqual(['bob']);

  const aliceBefore = (await debug(moving)).delivered.alice ?? 0;
  const stayingLikes = await likes(staying);
  await sql("UPDATE profiles SET likes = likes + 1 WHERE username = 'alice'");
  await expectLikes([staying], stayingLikes + 1);
  const bobLikes = await likes(moving);
  await sql("UPDATE profiles SET likes = likes + 1 WHERE username = 'bob'");
  await expectLikes([moving], bobLikes + 1);
  expect((await debug(moving)).delivered.alice ?? 0).toBe(aliceBefore);
  await context.close();
});

test('a frozen background tab shows current values when it comes back', async ({ browser }) => {
  const context = await browser.newContext();
  const [frozen, awake] = await openTabs(context, '/frank', 2);
  const session = await context.newCDPSession(frozen);
  await session.send('Page.setWebLifecycleState', { state: 'frozen' });
  const value = await likes(awake);
  await sql("UPDATE profiles SET likes = likes + 3 WHERE username = 'frank'");
  await expectLikes([awake], value + 3);
  await session.send('Page.setWebLifecycleState', { state: 'active' });
  await frozen.bringToFront();
  await expectLikes([frozen], value + 3);
  await context.close();
});

test('a visible tab whose leader hangs opens a stream of its own until the leader answers again', async ({ browser }) => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (window as { SharedWorker?: unknown }).SharedWorker;
  });
  const tabs = await openTabs(context, '/grace', 2);
  const states = await Promise.all(tabs.map(debug));
  const leader = tabs[states.findIndex((state) => state.leader)];
  const follower = tabs.find((tab) => tab !== leader)!;
  // The leader's page is stuck in a long task: it holds the lock but relays nothing.
  // (Not awaited: the evaluation returns only when the task ends.)
  const hung = leader.evaluate(() => {
    const end = Date.now() + 12_000;
    while (Date.now() < end);
  });
  await expect.poll(async () => (await debug(follower)).mode, { timeout: 10_000 }).toBe('leader-tab (own stand-in)');
  const value = await likes(follower);
  await sql("UPDATE profiles SET likes = likes + 1 WHERE username = 'grace'");
  await expectLikes([follower], value + 1);
  await hung;
  await expect.poll(async () => (await debug(follower)).mode, { timeout: 10_000 }).toBe('leader-tab');
  await expectLikes([leader], value + 1);
  await context.close();
});
