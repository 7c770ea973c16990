import type { CacheEpoch } from '../cache/profile-cache';
import { getConfig } from '../config';
import { ProblemError } from '../http/problem';
import { logger } from '../logger';
import type { Profile } from '../profile';
import { lookupProfiles } from '../reads/profile-reads';
import { CONNECTED, epochFrame, HEARTBEAT, pipelineFrame, profileFrame, samePipeline, unknownFrame, type PipelineState } from './frames';
import { getLiveHub, isShuttingDown, type LiveHub, type LiveListener } from './hub';
import { LatestFrames } from './latest-frames';
import type { StreamQuery } from './stream-query';

export { MAX_STREAM_USERNAMES, parseStreamQuery } from './stream-query';

// Bytes queued for one client before new frames wait in its LatestFrames
// instead; the socket's own buffers sit behind this.
const HIGH_WATER_BYTES = 16 * 1024;
// A stream of every profile that falls this many profiles behind is closed
// (the client reconnects): newest-only per profile still grows with the table.
const MAX_FIREHOSE_BACKLOG = 10_000;

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform keeps Next (and proxies) from compressing, which would buffer events.
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

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

/** Refuses a stream once shutdown began: it would hear nothing until the process exits. */
export function refuseWhileShuttingDown(): void {
  if (isShuttingDown()) {
    throw new ProblemError('unavailable', 'This server is shutting down; connect again and you will reach one that is not.', {}, { 'Retry-After': '1' });
  }
}

/**
 * An SSE body (protocol in README): `epoch`, a snapshot of the named profiles
 * (only those newer than the version the client shows), `unknown` for names
 * that do not exist, `pipeline`, then every change. It listens before it
 * reads the snapshot, so a change that commits in between is not missed;
 * changes that arrive meanwhile wait until the snapshot is out. Resolves once
 * the snapshot is read, so a request for only unknown names can still be a 404.
 *
 * Per profile it sends only versions newer than the last it sent (a deletion
 * at v sits between v and v+1). A client that reads slowly is never cut off
 * and never grows a backlog: once its queue is full, only the newest frame
 * per profile waits, sent when it has room.
 */
export async function openProfileStream({
  query,
  signal,
  onClose = () => {},
  hub = getLiveHub(),
  lookup = lookupProfiles,
}: {
  query: StreamQuery;
  signal: AbortSignal;
  onClose?: () => void;
  hub?: Pick<LiveHub, 'listen' | 'ready' | 'pipelineState' | 'epoch'>;
  lookup?: typeof lookupProfiles;
}): Promise<ReadableStream<Uint8Array>> {
  refuseWhileShuttingDown();
  const usernames = query?.usernames ?? null;
  let stopListening = () => {};
  let closed = false;
  // Until the snapshot is out, hub callbacks wait here, in order.
  let held: Array<() => void> | null = [];
  let snapshotStarted = false;
  let refreshAfterOpen = false;
  let epochAfterOpen: CacheEpoch | null = null;
  // Bumped on every new epoch, so a snapshot read under the old one is dropped.
  let round = 0;
  let epochSent: string | null = null;
  let pipelineSent: PipelineState | null = null;
  const latest = new LatestFrames();
  // A heartbeat only matters to an idle connection: a full queue is not idle, nor one still opening.
  const heartbeat = setInterval(() => !held && room() && enqueue(HEARTBEAT), getConfig().SSE_HEARTBEAT_MS);
  heartbeat.unref?.();
  // Per profile, the newest version this stream has sent (a deletion at v as
  // v + 0.5). A stream of every profile keeps none: the gate publishes each
  // profile's versions in rising order, and a map would grow with the table.
  const sent: Map<string, number> | null = usernames ? new Map(query!.shown) : null;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const room = () => !closed && (controller.desiredSize ?? 0) > 0;
  const enqueue = (chunk: Uint8Array) => controller.enqueue(chunk);

  const stop = () => {
    if (closed) return;
    closed = true;
    stopListening();
    clearInterval(heartbeat);
    signal.removeEventListener('abort', close);
    onClose();
  };
  function close() {
    if (closed) return;
    stop();
    try {
      controller.close();
    } catch {
      // Already closed by the client going away.
    }
  }
  /** A frame about one profile: at once when the client keeps up, else newest-only. */
  const deliver = (username: string, frame: Uint8Array, order: number) => {
    if (latest.size === 0 && room()) enqueue(frame);
    else latest.put(frame, { username, version: order });
    if (!sent && latest.size > MAX_FIREHOSE_BACKLOG) {
      logger.warn(`stream: a stream of every profile fell ${MAX_FIREHOSE_BACKLOG} profiles behind; closing it so the client reconnects`);
      close();
    }
  };
  /** Whether this is newer than what the stream sent of that profile; records it if so. */
  const isNews = (username: string, order: number): boolean => {
    if (!sent) return true;
    if ((sent.get(username) ?? 0) >= order) return false;
    sent.set(username, order);
    return true;
  };
  const sendOrdered = (username: string, frame: Uint8Array, order: number) => {
    if (!closed && isNews(username, order)) deliver(username, frame, order);
  };
  /** An event about the stream as a whole, sent at once. */
  const sendEvent = (frame: Uint8Array) => {
    if (!closed) enqueue(frame);
  };
  const sendPipeline = (state: PipelineState) => {
    if (samePipeline(pipelineSent, state)) return;
    pipelineSent = state;
    sendEvent(pipelineFrame(state));
  };
  /**
   * Sends the named profiles as they are now. Returns every missing name, and
   * those the client has not been told of yet; false when an epoch began
   * meanwhile (that epoch's own snapshot follows).
   */
  const snapshot = async (): Promise<{ missing: string[]; news: Array<{ username: string; order: number }> } | false> => {
    const started = round;
    const { profiles, missing } = await lookup({ usernames: usernames! });
    if (closed || started !== round) return false;
    for (const profile of profiles) sendOrdered(profile.username, profileFrame(profile), profile.version);
    const news = missing.map((entry) => ({ username: entry.username, order: entry.version + 0.5 })).filter((entry) => isNews(entry.username, entry.order));
    return { missing: missing.map((entry) => entry.username), news };
  };
  const refresh = () => {
    if (!usernames || closed) return;
    snapshot().then(
      (result) => {
        // One frame per name, in that name's order, so a pending older frame of it cannot follow.
        if (result) for (const { username, order } of result.news) if (!closed) deliver(username, unknownFrame([username]), order);
      },
      (error: Error) => {
        logger.warn({ err: error.message }, 'stream: snapshot failed; closing so the client reconnects and tries again');
        close();
      },
    );
  };
  const startEpoch = (epoch: string) => {
    if (epoch === epochSent || closed) return;
    round += 1;
    // Versions of the old epoch mean nothing now, and neither do the versions the client said it shows.
    sent?.clear();
    latest.clear();
    epochSent = epoch;
    sendEvent(epochFrame(epoch));
    refresh();
  };

  const listener: LiveListener = {
    onChange: (frame, profile: Profile) => {
      if (held) held.push(() => sendOrdered(profile.username, frame, profile.version));
      else sendOrdered(profile.username, frame, profile.version);
    },
    onDeleted: (username, version) => {
      if (!sent) return;
      const send = () => sendOrdered(username, unknownFrame([username]), version + 0.5);
      if (held) held.push(send);
      else send();
    },
    onEpoch: (epoch) => {
      if (held) epochAfterOpen = epoch;
      else startEpoch(epoch.epoch);
    },
    onPipeline: (state) => {
      if (!held) sendPipeline(state);
    },
    onResubscribed: () => {
      // Before the first snapshot is read, that snapshot is fresh enough.
      if (held) refreshAfterOpen ||= snapshotStarted;
      else refresh();
    },
    close,
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
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

  signal.addEventListener('abort', close);
  if (signal.aborted) close();
  // retry: EventSource waits this long before reconnecting after a drop.
  sendEvent(CONNECTED);
  // A client already gone leaves nothing behind.
  if (closed) return body;
  stopListening = hub.listen(usernames, listener);
  try {
    await hub.ready(usernames);
    const epoch = await hub.epoch();
    epochSent = epoch;
    sendEvent(epochFrame(epoch));
    // The client's versions belong to another epoch: they say nothing here.
    if (sent && query!.epoch !== null && query!.epoch !== epoch) sent.clear();
    if (usernames) {
      snapshotStarted = true;
      const result = await snapshot();
      if (result && result.missing.length === usernames.length) {
        const names = result.missing.map((name) => `@${name}`).join(', ');
        throw new ProblemError('not-found', `There is no profile ${names}: nothing to watch. Check the names, or watch them once they exist.`, { usernames: result.missing });
      }
      if (result && result.news.length > 0) sendEvent(unknownFrame(result.news.map((entry) => entry.username)));
    }
  } catch (error) {
    stop();
    throw error;
  }
  sendPipeline(hub.pipelineState());
  const waiting = held;
  held = null;
  for (const run of waiting) run();
  if (epochAfterOpen) startEpoch((epochAfterOpen as CacheEpoch).epoch);
  else if (refreshAfterOpen) refresh();
  return body;
}
