// The SharedWorker that holds the browser's one live stream for all its tabs.
// Built by Next from `new SharedWorker(new URL('./shared-worker.ts', import.meta.url))`.
import { Tab } from 'tab-election';
import { leadWhenElected } from './hub-host';
import { HUB_CHANNEL } from './protocol';

void leadWhenElected(new Tab(HUB_CHANNEL), 'shared-worker');
