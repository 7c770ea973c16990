import { getConfig } from '../config';
import { LatestFrames } from './latest-frames';
import { getLiveHub, profileFrame, type LiveHub, type LiveListener } from './hub';
import { logger } from '../logger';
import { ProblemError } from '../http/problem';
import { isValidUsername, type Profile } from '../profile';
import { getProfiles } from '../reads/profile-reads';

export const MAX_STREAM_USERNAMES = 50;
// Bytes queued for one client before new frames wait in its LatestFrames
// instead; the socket's own buffers sit behind this.
const HIGH_WATER_BYTES = 16 * 1024;

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform keeps Next (and proxies) from compressing, which would buffer events.
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(': heartbeat\n\n');

/** The `u` parameters of /stream: null for every profile, else unique valid usernames. */
export function parseStreamQuery(params: URLSearchParams): string[] | null {
  const raw = params.getAll('u');
  if (raw.length === 0) return null;
  if (raw.length > MAX_STREAM_USERNAMES) {
    throw new ProblemError('invalid-query', `Name at most ${MAX_STREAM_USERNAMES} profiles with u; this request named ${raw.length}.`);
  }
  const invalid = raw.filter((value) => !isValidUsername(value));
  if (invalid.length > 0) {
    const shown = invalid[0].length > 40 ? `${invalid[0].slice(0, 40)}…` : invalid[0];
    throw new ProblemError(
      'invalid-query',
      `u="${shown}" is not a username: usernames are 1 to 15 lowercase letters, digits or underscores.`,
    );
  }
  return [...new Set(raw)];
}

const openStreams = new Map<string, number>();

/**
 * Holds one of the client's stream slots in this process, or throws a 429.
 * Returns the release, which is safe to call more than once.
 */
export function reserveStreamSlot(client: string): () => void {
  const open = openStreams.get(client) ?? 0;
  const limit = getConfig().MAX_STREAMS_PER_CLIENT;
  if (open >= limit) {
    throw new ProblemError(
      'too-many-requests',
      `You already have ${open} live streams open here (the limit is ${limit}); close some tabs and try again.`,
      {},
      { 'Retry-After': '5' },
    );
  }
  openStreams.set(client, open + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (openStreams.get(client) ?? 1) - 1;
    if (left > 0) openStreams.set(client, left);
    else openStreams.delete(client);
  };
}

/**
 * An SSE body: a snapshot of the named profiles, then every change to them.
 * It listens before it reads the snapshot, so a change that commits in
 * between is not missed; changes that arrive meanwhile wait until the snapshot is out.
 * A client that reads slowly is never cut off and never grows a backlog: once
 * its queue is full, only the newest frame per profile waits, sent when it has room.
 */
export function openProfileStream({
  usernames,
  signal,
  onClose = () => {},
  hub = getLiveHub(),
}: {
  usernames: string[] | null;
  signal: AbortSignal;
  onClose?: () => void;
  hub?: Pick<LiveHub, 'listen' | 'ready'>;
}): ReadableStream<Uint8Array> {
  let stopListening = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  let closed = false;
  let held: Array<[Uint8Array, Profile]> | null = [];
  const latest = new LatestFrames();
  // Per profile, the newest version this stream has taken on, so a snapshot
  // racing a change can never show a client an older value or one twice.
  const taken = new Map<string, number>();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const room = () => !closed && (controller.desiredSize ?? 0) > 0;
  const enqueue = (chunk: Uint8Array) => controller.enqueue(chunk);
  const send = (frame: Uint8Array, profile: Profile) => {
    if (closed || (taken.get(profile.username) ?? 0) >= profile.version) return;
    taken.set(profile.username, profile.version);
    if (latest.size === 0 && room()) enqueue(frame);
    else latest.put(frame, profile);
  };
  const stop = () => {
    if (closed) return;
    closed = true;
    stopListening();
    clearInterval(heartbeat);
    onClose();
  };

  return new ReadableStream<Uint8Array>(
    {
      async start(streamController) {
        controller = streamController;
        const close = () => {
          if (closed) return;
          stop();
          signal.removeEventListener('abort', close);
          try {
            controller.close();
          } catch {
            // Already closed by the client going away.
          }
        };
        const sendSnapshot = async () => {
          if (usernames === null) return;
          try {
            const profiles = await getProfiles({ usernames });
            for (const profile of profiles) send(profileFrame(profile), profile);
          } catch (error) {
            // The client keeps what it shows; a later snapshot or change brings it up to date.
            logger.warn({ err: (error as Error).message }, 'stream: snapshot failed; closing so the client retries');
            close();
          }
        };
        const listener: LiveListener = {
          onChange: (frame, profile) => (held ? held.push([frame, profile]) : send(frame, profile)),
          onResubscribed: () => void sendSnapshot(),
          close,
        };

        signal.addEventListener('abort', close);
        // retry: EventSource waits this long before reconnecting after a drop.
        enqueue(encoder.encode('retry: 1000\n: connected\n\n'));
        stopListening = hub.listen(usernames, listener);
        // A heartbeat only matters to an idle connection: a full queue is not idle.
        heartbeat = setInterval(() => room() && enqueue(HEARTBEAT), getConfig().SSE_HEARTBEAT_MS);
        heartbeat.unref?.();

        await hub.ready();
        await sendSnapshot();
        const waiting = held ?? [];
        held = null;
        for (const [frame, profile] of waiting) send(frame, profile);
      },
      pull() {
        latest.drain(room, enqueue);
      },
      cancel() {
        stop();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_BYTES }),
  );
}
