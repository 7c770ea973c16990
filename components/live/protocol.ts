import type { Profile } from '@/lib/profile';

// What the tabs of one browser and the one hub that holds their shared stream
// say to each other. The hub runs in a SharedWorker, or in the tab elected
// leader, or (where neither is possible) in each tab for itself.

/** Bumped whenever these messages change, so tabs of two builds never share a hub. */
export const HUB_CHANNEL = 'ripple-live/v1';

/** Hub → every tab; each tab keeps what it watches and drops the rest. */
export type HubMessage =
  /** `fresh`: a change as it happened (not a snapshot or a replay), so its age means something. */
  | { type: 'profile'; profile: Profile; fresh: boolean }
  /** The data's identity changed (or a tab joined with another one): forget versions, take the next value. */
  | { type: 'epoch'; epoch: string }
  | { type: 'unknown'; usernames: string[] }
  /** Every tab answers with its `watch`; a tab that stays silent is forgotten. */
  | { type: 'roll-call' };

export type Connection = 'connecting' | 'live' | 'reconnecting';
export type Pipeline = { live: boolean; reason: string | null };

/** Replicated from the hub to every tab. */
export type HubState = {
  /** Changes when another hub takes over: tabs then tell it what they watch. */
  hubId: string;
  mode: HubMode;
  connection: Connection;
  pipeline: Pipeline;
  epoch: string | null;
  /** Open streams to the server; 1 unless the tabs watch more than 50 profiles. */
  streams: number;
};

export type HubMode = 'shared-worker' | 'leader-tab' | 'own-tab';

/** Tab → hub: everything this tab shows now, with the versions it shows (replaces its last watch). */
export type Watch = { tabId: string; usernames: string[]; versions: Record<string, number>; epoch: string | null };

/** What the hub answers to, whichever way a tab reaches it. */
export type HubApi = {
  watch(watch: Watch): void;
  bye(tabId: string): void;
  ping(): string;
};
