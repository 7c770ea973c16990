export type BatchRunner<Request, Result> = (requests: Request[], deadlines: number[]) => Promise<Result[]>;

export type WriteBatcherOptions = {
  /** The longest a request waits for company while other batches are running. */
  windowMs: number;
  /** A batch this big is sent at once. */
  maxBatch: number;
  /**
   * Batches running at once. More would only queue for pool connections or,
   * on a hot row, for the row lock; meanwhile the next batch grows instead.
   */
  maxInFlight: number;
  /** Requests waiting to be sent; one more is refused at once. */
  queueLimit?: number;
  /** The longest a request may wait to be sent; still waiting then, it is refused. */
  deadlineMs?: number;
};

/**
 * A request the batcher never sent: the queue was full, or the request was
 * still waiting at its deadline. Nothing of it reached the database.
 */
export class QueueRefusal extends Error {
  constructor(
    readonly reason: 'queue-full' | 'deadline',
    readonly waitedMs: number,
  ) {
    super(reason === 'queue-full' ? 'the write queue is full' : `the write waited ${waitedMs} ms without being sent`);
  }
}

type Waiter<Request, Result> = {
  request: Request;
  queuedAt: number;
  deadline: number;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
};

/**
 * Gathers concurrent requests into batches, runs each batch once, and hands
 * every request its own result. When nothing is running, a batch leaves on
 * the next turn of the event loop (an idle server adds no delay); while
 * batches are running, requests wait at most windowMs or until maxBatch
 * have gathered, so a busy server pays one commit for many requests.
 * At most maxInFlight batches run at once; the rest gather until one ends.
 * A batch that fails rejects every request in it with that error: nothing is
 * retried, so nothing is applied twice, and nothing is silently dropped.
 *
 * Every wait is bounded: past queueLimit waiting requests a new one is
 * refused at once, and a request still waiting at its deadline is refused
 * then (QueueRefusal). Either way it was never sent, so nothing changed.
 */
export class WriteBatcher<Request, Result> {
  batches = 0;
  requests = 0;
  largestBatch = 0;
  refusedQueueFull = 0;
  refusedDeadline = 0;

  private queue: Waiter<Request, Result>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(
    private readonly run: BatchRunner<Request, Result>,
    private readonly options: WriteBatcherOptions,
  ) {}

  /** Requests waiting to be sent right now. */
  get queued(): number {
    return this.queue.length;
  }

  submit(request: Request): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      if (this.queue.length >= (this.options.queueLimit ?? Infinity)) {
        this.refusedQueueFull += 1;
        reject(new QueueRefusal('queue-full', 0));
        return;
      }
      const queuedAt = Date.now();
      this.queue.push({ request, queuedAt, deadline: queuedAt + (this.options.deadlineMs ?? Infinity), resolve, reject });
      if (this.queue.length >= this.options.maxBatch && this.inFlight < this.options.maxInFlight) this.flush();
      else this.schedule();
      this.armExpiry();
    });
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.inFlight >= this.options.maxInFlight) return;
    if (this.inFlight === 0) this.immediate = setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), this.options.windowMs);
  }

  // Every request waits the same deadlineMs and the queue is first in, first
  // out, so the head always expires first: one timer covers the whole queue.
  private armExpiry(): void {
    if (this.expiry || this.queue.length === 0 || !Number.isFinite(this.queue[0].deadline)) return;
    this.expiry = setTimeout(() => {
      this.expiry = undefined;
      const now = Date.now();
      while (this.queue.length > 0 && this.queue[0].deadline <= now) {
        const waiter = this.queue.shift()!;
        this.refusedDeadline += 1;
        waiter.reject(new QueueRefusal('deadline', now - waiter.queuedAt));
      }
      this.armExpiry();
    }, Math.max(0, this.queue[0].deadline - Date.now()));
  }

  private flush(): void {
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    // A timer armed before the last slot filled: the batch that ends next sends these.
    if (this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (this.queue.length > 0) queueMicrotask(() => this.schedule());
    else {
      clearTimeout(this.expiry);
      this.expiry = undefined;
    }
    this.batches += 1;
    this.requests += batch.length;
    this.largestBatch = Math.max(this.largestBatch, batch.length);
    this.inFlight += 1;
    Promise.resolve()
      .then(() => this.run(batch.map((waiter) => waiter.request), batch.map((waiter) => waiter.deadline)))
      .then(
        (results) => {
          if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} writes returned ${results.length} results`);
          batch.forEach((waiter, index) => waiter.resolve(results[index]));
        },
      )
      .catch((error: unknown) => {
        for (const waiter of batch) waiter.reject(error);
      })
      .finally(() => {
        this.inFlight -= 1;
        // The database is free again: whoever waited goes now rather than at the window's end.
        if (this.queue.length > 0 && (this.inFlight === 0 || this.queue.length >= this.options.maxBatch)) this.flush();
        else if (this.queue.length > 0) this.schedule();
      });
  }
}
