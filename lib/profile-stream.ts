import { getConfig } from './config';
import { getLiveHub, profileFrame, type LiveListener } from './live';
import { logger } from './logger';
import { ProblemError } from './problem';
import { isValidUsername, type Profile } from './profile';
import { getProfiles } from './profiles';

export const MAX_STREAM_USERNAMES = 50;
// A client this far behind is dropped; EventSource reconnects and a fresh
// snapshot replaces everything it missed, instead of the server buffering forever.
const MAX_BUFFERED_BYTES = 256 * 1024;

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
 */
export function openProfileStream({
  usernames,
  signal,
  onClose = () => {},
}: {
  usernames: string[] | null;
  signal: AbortSignal;
  onClose?: () => void;
}): ReadableStream<Uint8Array> {
  const hub = getLiveHub();
  let stopListening = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  let closed = false;
  let held: Array<[Profile, Uint8Array]> | null = [];

  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const close = () => {
        if (closed) return;
        closed = true;
        stopListening();
        clearInterval(heartbeat);
        onClose();
        signal.removeEventListener('abort', close);
        try {
          controller.close();
        } catch {
          // Already closed by the client going away.
        }
      };
      const write = (chunk: Uint8Array) => {
        if (closed) return;
        if ((controller.desiredSize ?? 0) < -MAX_BUFFERED_BYTES) {
          logger.warn('stream: client too slow; closing so it reconnects with a snapshot');
          close();
          return;
        }
        controller.enqueue(chunk);
      };
      // Per profile, only versions newer than this stream already sent go out, so a
      // snapshot racing a change can never show a client an older value.
      const sent = new Map<string, number>();
      const send = (profile: Profile, frame?: Uint8Array) => {
        if ((sent.get(profile.username) ?? 0) >= profile.version) return;
        sent.set(profile.username, profile.version);
        write(frame ?? profileFrame(profile));
      };
      const sendSnapshot = async () => {
        if (usernames === null) return;
        try {
          const profiles = await getProfiles({ usernames });
          for (const profile of profiles) send(profile);
        } catch (error) {
          // The client keeps what it shows; a later snapshot or change brings it up to date.
          logger.warn({ err: (error as Error).message }, 'stream: snapshot failed; closing so the client retries');
          close();
        }
      };
      const listener: LiveListener = {
        onChange: (frame, profile) => (held ? held.push([profile, frame]) : send(profile, frame)),
        onResubscribed: () => void sendSnapshot(),
        close,
      };

      signal.addEventListener('abort', close);
      // retry: EventSource waits this long before reconnecting after a drop.
      write(encoder.encode('retry: 1000\n: connected\n\n'));
      stopListening = hub.listen(usernames, listener);
      heartbeat = setInterval(() => write(HEARTBEAT), getConfig().SSE_HEARTBEAT_MS);
      heartbeat.unref?.();

      await hub.ready();
      await sendSnapshot();
      const waiting = held ?? [];
      held = null;
      for (const [profile, frame] of waiting) send(profile, frame);
    },
    cancel() {
      closed = true;
      stopListening();
      clearInterval(heartbeat);
      onClose();
    },
  });
}
