import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { ChangeSourceError } from '../lib/change-source';
import { logger } from '../lib/logger';
import { backoffMs, sleep } from './listener';
import { bigIntToLsn, lsnToBigInt, TransactionAssembler, type SlotTransaction } from './slot-changes';

export const REPLICATION_APPLICATION_NAME = 'ripple-worker-replication';
// Transactions handed to the cache writer and not yet confirmed; past this the
// stream pauses (pg-logical-replication's flow control) until they are written.
const MAX_IN_FLIGHT = 5_000;
// A worker whose slot another worker holds asks again this often, so it takes over within about a second.
const STANDBY_RETRY_MS = 1_000;
const STATUS_EVERY_MS = 10;

export type SlotPosition = { confirmed: bigint; target: bigint };

type StreamOptions = {
  connectionString: string;
  slot: string;
  publication: string;
  heartbeatMs: number;
  signal: AbortSignal;
  /** Before each START_REPLICATION: make sure the slot exists; where it stands and where the WAL ends now. */
  prepare: () => Promise<SlotPosition>;
  /** Resolves once every change of the transaction is in Redis; only then is its LSN confirmed. */
  onTransaction: (transaction: SlotTransaction) => Promise<void>;
  onStreaming: () => void;
  /** Everything committed before the stream started is in Redis. */
  onCaughtUp: (stats: { transactions: number; ms: number }) => void;
  /** A transaction's changes are all in Redis, and Postgres has been told. */
  onConfirmed: (transaction: { endLsn: bigint; commitTime: number } | null) => void;
  onWaiting: (pid: number | null) => void;
  onLost: (reason: string) => void;
};

/**
 * Holds the replication connection to the slot until the signal aborts,
 * reconnecting with backoff and jitter. Starts at the slot's confirmed
 * position every time (never at what was merely received), and confirms a
 * commit's end LSN only after its changes are in Redis, in commit order: a
 * crash anywhere replays from the last confirmed commit and skips nothing.
 */
export async function streamForever(options: StreamOptions): Promise<void> {
  const { signal } = options;
  let attempt = 0;
  let waitingFor: number | null | undefined;
  while (!signal.aborted) {
    const session = new SlotSession(options);
    try {
      const position = await options.prepare();
      const outcome = await session.run(position);
      if (signal.aborted) break;
      if (outcome.busy !== undefined) {
        // Another worker streams from the slot: wait to take over, without counting it as a failure.
        if (waitingFor !== outcome.busy) {
          logger.info({ slot: options.slot, pid: outcome.busy }, `worker: another worker streams from slot ${options.slot} (walsender pid ${outcome.busy ?? 'unknown'}); this one waits and takes over when it stops`);
          options.onWaiting(outcome.busy);
        }
        waitingFor = outcome.busy;
        await sleep(STANDBY_RETRY_MS, signal);
        continue;
      }
      waitingFor = undefined;
      if (outcome.streamed) attempt = 0;
      options.onLost(outcome.reason);
      logger.warn({ reason: outcome.reason, slot: options.slot }, `worker: lost the replication connection (${outcome.reason}); reconnecting`);
    } catch (error) {
      if (signal.aborted) break;
      // wal_level, privileges: nothing a retry changes.
      if (error instanceof ChangeSourceError) throw error;
      const message = (error as Error).message;
      options.onLost(message);
      logger.warn({ err: message, attempt }, `worker: cannot stream from slot ${options.slot} (${message}); is PostgreSQL running at DATABASE_URL? retrying`);
    } finally {
      await session.close();
    }
    attempt += 1;
    await sleep(backoffMs(attempt), signal);
  }
}

type Outcome = { streamed: boolean; reason: string; busy?: number | null };

/** One replication connection: its messages, its confirmations, its heartbeat. */
class SlotSession {
  private readonly service: LogicalReplicationService;
  private readonly assembler = new TransactionAssembler();
  private confirmed = 0n;
  private target = 0n;
  private caughtUp = false;
  private startedAt = 0;
  private transactions = 0;
  private inFlight = 0;
  /** Confirmations run in commit order, each after its transaction is written. */
  private chain: Promise<void> = Promise.resolve();
  private lastHeard = Date.now();
  private waiting = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private fail: (reason: string) => void = () => {};

  constructor(private readonly options: StreamOptions) {
    const timeoutMs = Math.max(10_000, options.heartbeatMs * 3);
    this.service = new LogicalReplicationService(
      {
        connectionString: options.connectionString,
        application_name: REPLICATION_APPLICATION_NAME,
        keepAlive: true,
        connectionTimeoutMillis: 5_000,
        // UTC and ISO: profile_json()'s timestamp is rebuilt from the raw text.
        // A walsender whose worker vanished silently lets go of the slot after this long.
        options: `-c TimeZone=UTC -c DateStyle=ISO -c wal_sender_timeout=${timeoutMs}`,
      },
      // Confirmation is ours alone (the library's timer would confirm what was only received).
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
  }

  async run(position: SlotPosition): Promise<Outcome> {
    this.confirmed = position.confirmed;
    this.target = position.target;
    const { service, options } = this;
    let streamed = false;
    const lost = new Promise<string>((resolve) => {
      this.fail = resolve;
      service.on('error', (error: Error) => resolve(error.message));
      options.signal.addEventListener('abort', () => resolve('shutting down'), { once: true });
    });
    service.on('start', () => {
      streamed = true;
      this.startedAt = Date.now();
      this.lastHeard = Date.now();
      logger.info({ slot: options.slot, from: bigIntToLsn(this.confirmed) }, `worker: streaming changes from slot ${options.slot}`);
      options.onStreaming();
      this.startHeartbeat();
      this.checkCaughtUp();
    });
    service.on('data', (_lsn: string, message: Pgoutput.Message) => this.onMessage(message));
    service.on('heartbeat', (lsn: string) => this.onKeepalive(lsn));
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication] });
    // Always from 0/0: the server then starts at the slot's confirmed position.
    const subscribed = service.subscribe(plugin, options.slot, '0/00000000').then(
      () => 'the replication stream ended',
      (error: Error & { code?: string }) => {
        if (error.code === '55006') throw Object.assign(new Error('busy'), { busy: Number(/PID (\d+)/.exec(error.message)?.[1]) || null });
        return error.message;
      },
    );
    // Seen by the race below; when the connection is lost first, nobody else waits for it.
    subscribed.catch(() => undefined);
    try {
      const reason = await Promise.race([subscribed, lost]);
      // Shutting down: confirm what is already on its way to Redis, briefly, so a restart replays less.
      if (options.signal.aborted) {
        await Promise.race([this.chain.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000))]);
        this.sendStatus(false);
      }
      return { streamed, reason };
    } catch (error) {
      if ('busy' in (error as object)) return { streamed, reason: 'busy', busy: (error as { busy: number | null }).busy };
      throw error;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    clearTimeout(this.statusTimer);
    // Drop the socket first: the library ends the client politely, which waits
    // for an answer that never comes from a dead server, or through a socket
    // its flow control left paused.
    const internals = this.service as unknown as { _connection?: { stream?: { destroy(): void } } | null };
    internals._connection?.stream?.destroy();
    await Promise.race([this.service.destroy().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000))]);
    this.service.removeAllListeners();
    // A late error from the dropped socket must not reach an emitter with no listener (which throws).
    this.service.on('error', () => undefined);
  }

  private onMessage(message: Pgoutput.Message): Promise<void> | void {
    this.lastHeard = Date.now();
    const transaction = this.assembler.accept(message);
    if (!transaction) return;
    this.transactions += 1;
    this.inFlight += 1;
    const written = this.options.onTransaction(transaction);
    // Seen through the chain; after an earlier failure the chain never gets to it.
    written.catch(() => undefined);
    this.chain = this.chain
      .then(() => written)
      .then(() => {
        this.inFlight -= 1;
        this.confirm(transaction.endLsn, transaction);
      });
    this.chain.catch((error: Error) => this.fail(`a cache write failed (${error.message}); replaying from the last confirmed commit`));
    // A reset must be done before any later change is tagged with the epoch;
    // and a long backlog waits here rather than in memory.
    if (transaction.changes.some((change) => change.kind === 'reset') || this.inFlight >= MAX_IN_FLIGHT) return this.pause(this.chain);
  }

  private async pause(until: Promise<void>): Promise<void> {
    this.waiting = true;
    try {
      await until;
    } catch {
      // Reported through fail(); the connection is dropped and the stream replays.
    } finally {
      this.waiting = false;
      this.lastHeard = Date.now();
    }
  }

  /** The server's end of WAL: with nothing in hand, everything up to it is done (other tables' WAL, empty transactions). */
  private onKeepalive(lsn: string): void {
    this.lastHeard = Date.now();
    if (this.inFlight === 0 && !this.assembler.inTransaction) this.confirm(lsnToBigInt(lsn), null);
  }

  private confirm(lsn: bigint, transaction: SlotTransaction | null): void {
    if (lsn > this.confirmed) {
      this.confirmed = lsn;
      // One status message per few milliseconds, not one per commit: each wakes
      // the walsender, and at thousands of commits a second that is CPU the
      // writers want. A crash in between only replays those few milliseconds.
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = undefined;
        this.sendStatus(false);
      }, STATUS_EVERY_MS);
    }
    this.options.onConfirmed(transaction ? { endLsn: transaction.endLsn, commitTime: transaction.commitTime } : null);
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.caughtUp || this.startedAt === 0 || this.confirmed < this.target) return;
    this.caughtUp = true;
    this.options.onCaughtUp({ transactions: this.transactions, ms: Date.now() - this.startedAt });
  }

  /**
   * Standby status: written, flushed and applied up to the last confirmed
   * commit's end. The library reports "the LSN given + 1", so it is given one less.
   */
  private sendStatus(ping: boolean): void {
    if (this.confirmed === 0n) return;
    void this.service.acknowledge(bigIntToLsn(this.confirmed - 1n), ping).catch(() => undefined);
  }

  private startHeartbeat(): void {
    const { heartbeatMs } = this.options;
    this.heartbeat = setInterval(() => {
      // While the stream is paused on purpose the answer waits unread in the socket.
      if (!this.waiting && Date.now() - this.lastHeard > 2 * heartbeatMs) {
        this.fail(`no heartbeat answer within ${2 * heartbeatMs} ms`);
        return;
      }
      // Asks the server to answer at once: a silently dead connection shows as silence.
      this.sendStatus(true);
    }, heartbeatMs);
  }
}
