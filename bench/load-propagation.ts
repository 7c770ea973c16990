// Propagation: POST sent (and 200 received) until the SSE frame arrives on a
// second connection; the baseline is a bare UPDATE heard by a bare LISTEN client.
import { Redis } from 'ioredis';
import pg from 'pg';
import { cpuSeconds } from './processes';
import { agent, FrameLog, now, openSse, postJson, sleep, within, type PostResult } from './support';

export type IdleParams = { baseUrl: string; databaseUrl: string; username: string; updates: number; warmup: number };

export async function idlePropagation(params: IdleParams, progress: (text: string) => void) {
  const log = new FrameLog();
  const via = agent(4);
  const stream = await openSse(new URL(`/stream?u=${params.username}`, params.baseUrl), via, (frame) => log.record(frame));
  await log.arrival(params.username, 1);
  const sendToFrame: number[] = [];
  const answerToFrame: number[] = [];
  const sendToAnswer: number[] = [];
  const url = new URL(`/v1/profile/${params.username}`, params.baseUrl);
  for (let i = 0; i < params.warmup + params.updates; i += 1) {
    const sent = now();
    const answer = await postJson(url, { likes: 1 }, via);
    if (answer.status !== 200 || answer.version === null) throw new Error(`POST answered ${answer.status}`);
    const frameAt = await within(log.arrival(params.username, answer.version), 5_000, NaN);
    if (Number.isNaN(frameAt)) throw new Error(`no frame for version ${answer.version} within 5 s`);
    if (i < params.warmup) continue;
    sendToFrame.push(frameAt - sent);
    answerToFrame.push(frameAt - answer.at);
    sendToAnswer.push(answer.at - sent);
    if ((i + 1) % 500 === 0) progress(`${i + 1 - params.warmup}/${params.updates} updates through the app`);
  }
  stream.close();
  via.destroy();

  const listener = new pg.Client({ connectionString: params.databaseUrl });
  const writer = new pg.Client({ connectionString: params.databaseUrl });
  await Promise.all([listener.connect(), writer.connect()]);
  const heard = new FrameLog();
  listener.on('notification', (message) => {
    const at = now();
    const profile = JSON.parse(message.payload ?? '{}') as { username: string; version: number };
    heard.record({ username: profile.username, version: profile.version, at });
  });
  await listener.query('LISTEN profile_changes');
  const updateToNotify: number[] = [];
  const commitToNotify: number[] = [];
  for (let i = 0; i < params.warmup + params.updates; i += 1) {
    const sent = now();
    const { rows } = await writer.query<{ version: string }>('UPDATE profiles SET likes = likes + 1 WHERE username = $1 RETURNING version', [params.username]);
    const committed = now();
    const at = await within(heard.arrival(params.username, Number(rows[0].version)), 5_000, NaN);
    if (Number.isNaN(at)) throw new Error('no notification within 5 s');
    if (i < params.warmup) continue;
    updateToNotify.push(at - sent);
    commitToNotify.push(at - committed);
  }
  await Promise.all([listener.end(), writer.end()]);
  return { sendToFrame, answerToFrame, sendToAnswer, updateToNotify, commitToNotify };
}

export type OpenLoopParams = { baseUrl: string; usernames: string[]; streams: number; rate: number; seconds: number; webPid: number; redisUrl: string; channel: string };

/**
 * Open loop: requests leave on a fixed schedule whatever the answers do, and
 * latency counts from the scheduled time, so a slow server cannot hide its
 * queue (no coordinated omission).
 */
export async function openLoopPropagation(params: OpenLoopParams, progress: (text: string) => void) {
  const log = new FrameLog();
  const streamAgent = agent(Infinity);
  const streams = [];
  for (let i = 0; i < params.streams; i += 1) {
    const username = params.usernames[i % params.usernames.length];
    streams.push(openSse(new URL(`/stream?u=${username}`, params.baseUrl), streamAgent, (frame) => log.record(frame)));
    if (i % 100 === 99) await Promise.all(streams.slice(-100));
  }
  const opened = await Promise.all(streams);
  await Promise.all(params.usernames.slice(0, params.streams).map((username) => log.arrival(username, 1)));
  // Worker lag, seen from outside the worker: each profile the cache takes is
  // PUBLISHed as it is written, so arrival here minus the row's updatedAt is
  // row written → in the cache (updatedAt has millisecond resolution).
  // (One Redis only: a cluster's changes are spread over 128 sharded firehose channels; channel '' skips it.)
  const workerLag: number[] = [];
  const cacheWatch = params.channel ? new Redis(params.redisUrl) : null;
  await cacheWatch?.subscribe(params.channel);
  cacheWatch?.on('message', (_channel: string, message: string) => {
    const at = now();
    workerLag.push(at - Date.parse((JSON.parse(message) as { updatedAt: string }).updatedAt));
  });
  progress(`${opened.length} streams open; sending ${params.rate}/s for ${params.seconds} s`);
  // Only profiles someone watches can show their frames.
  const targets = params.usernames.slice(0, Math.min(params.streams, params.usernames.length));

  const postAgent = agent(512);
  const total = Math.round(params.rate * params.seconds);
  const scheduleToFrame: number[] = [];
  const scheduleToAnswer: number[] = [];
  const statuses = new Map<number, number>();
  let missed = 0;
  const inFlight: Promise<void>[] = [];
  const start = now() + 50;
  const cpuAtStart = cpuSeconds(params.webPid);
  let sent = 0;
  let lastAnswer = start;
  let lastProgress = start;
  const one = async (scheduled: number, username: string) => {
    let answer: PostResult;
    try {
      answer = await postJson(new URL(`/v1/profile/${username}`, params.baseUrl), { likes: 1 }, postAgent);
    } catch {
      statuses.set(0, (statuses.get(0) ?? 0) + 1);
      return;
    }
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    lastAnswer = Math.max(lastAnswer, answer.at);
    scheduleToAnswer.push(answer.at - scheduled);
    if (answer.version === null) return;
    const at = await within(log.arrival(username, answer.version), 10_000, NaN);
    if (Number.isNaN(at)) missed += 1;
    else scheduleToFrame.push(at - scheduled);
  };
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - start) * params.rate) / 1000) + 1);
    for (; sent < due; sent += 1) {
      const username = targets[Math.floor(Math.random() * targets.length)];
      inFlight.push(one(start + (sent * 1000) / params.rate, username));
    }
    if (now() - lastProgress > 2_000) {
      lastProgress = now();
      progress(`${sent}/${total} sent, ${scheduleToAnswer.length} answered`);
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  // Web CPU per second of the send phase only (stream set-up excluded).
  const webCpuPercent = ((cpuSeconds(params.webPid) - cpuAtStart) / ((lastAnswer - start) / 1000)) * 100;
  for (const stream of opened) stream.close();
  streamAgent.destroy();
  postAgent.destroy();
  cacheWatch?.disconnect();
  return {
    workerLag,
    scheduleToFrame,
    scheduleToAnswer,
    statuses: Object.fromEntries(statuses),
    missed,
    webCpuPercent,
    offeredRate: params.rate,
    achievedRate: (scheduleToAnswer.length / (lastAnswer - start)) * 1000,
  };
}
