import { To, type Tab } from 'tab-election';
import type { HubApi, HubMode } from './protocol';
import { StreamHub, type EventSourceLike } from './stream-hub';

const openEventSource = (url: string): EventSourceLike => new EventSource(url);

/**
 * Waits to lead (a Web Lock, so exactly one context in the browser leads and
 * the next takes over the moment it goes away), then runs the hub until
 * leadership ends. Tabs reach it through `tab.call` and hear it through
 * `tab.send` (BroadcastChannel) and the replicated state.
 */
export async function leadWhenElected(tab: Tab, mode: HubMode, openStream = openEventSource): Promise<void> {
  let hub: StreamHub | undefined;
  await tab.waitForLeadership((): HubApi => {
    hub = new StreamHub({
      mode,
      openStream,
      broadcast: (message) => tab.send(message, To.All),
      publishState: (state) => tab.setState(state),
    });
    const running = hub;
    return { watch: (watch) => running.watch(watch), bye: (tabId) => running.bye(tabId), ping: () => running.ping() };
  });
  hub?.close();
}
