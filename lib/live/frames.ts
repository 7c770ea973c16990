import type { Profile } from '../profile';

// Server-Sent Event frames, encoded once however many streams they go to.

const encoder = new TextEncoder();

export type PipelineState = { live: true } | { live: false; reason: string };

export function eventFrame(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function profileFrame(profile: Profile): Uint8Array {
  return eventFrame('profile', profile);
}

export function unknownFrame(usernames: string[]): Uint8Array {
  return eventFrame('unknown', { usernames });
}

export function epochFrame(epoch: string | null): Uint8Array {
  return eventFrame('epoch', { epoch });
}

export function pipelineFrame(state: PipelineState): Uint8Array {
  return eventFrame('pipeline', state);
}

export function samePipeline(a: PipelineState | null, b: PipelineState): boolean {
  return a !== null && a.live === b.live && (a.live || a.reason === (b as { reason: string }).reason);
}

export const CONNECTED = encoder.encode('retry: 1000\n: connected\n\n');
export const HEARTBEAT = encoder.encode(': heartbeat\n\n');
