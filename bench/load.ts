// A load process: the orchestrator (bench/run.ts) forks it and sends tasks over
// IPC, so no load ever runs on the web server's event loop or the orchestrator's.
import { FanoutClients } from './load-fanout';
import { idlePropagation, openLoopPropagation } from './load-propagation';
import { sequentialRequests } from './load-requests';
import { resyncBench } from './load-resync';
import { commitToFrame } from './load-sources';
import { writePathThroughput, writeThroughput } from './load-throughput';

export type Task =
  | { id: number; kind: 'idle'; params: Parameters<typeof idlePropagation>[0] }
  | { id: number; kind: 'open-loop'; params: Parameters<typeof openLoopPropagation>[0] }
  | { id: number; kind: 'throughput'; params: Parameters<typeof writeThroughput>[0] }
  | { id: number; kind: 'write-path'; params: Parameters<typeof writePathThroughput>[0] }
  | { id: number; kind: 'fanout-open'; params: Parameters<FanoutClients['open']>[0] }
  | { id: number; kind: 'fanout-expect'; params: { version: number } }
  | { id: number; kind: 'fanout-collect'; params: { timeoutMs: number } }
  | { id: number; kind: 'fanout-close'; params: Record<string, never> }
  | { id: number; kind: 'resync'; params: Parameters<typeof resyncBench>[0] }
  | { id: number; kind: 'sequential'; params: Parameters<typeof sequentialRequests>[0] }
  | { id: number; kind: 'commit-to-frame'; params: Parameters<typeof commitToFrame>[0] };

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string } | { progress: string };

const send = (reply: Reply) => process.send!(reply);
const progress = (text: string) => send({ progress: text });
const fanout = new FanoutClients();

async function run(task: Task): Promise<unknown> {
  switch (task.kind) {
    case 'idle':
      return idlePropagation(task.params, progress);
    case 'open-loop':
      return openLoopPropagation(task.params, progress);
    case 'throughput':
      return writeThroughput(task.params);
    case 'write-path':
      return writePathThroughput(task.params);
    case 'fanout-open':
      return fanout.open(task.params, progress);
    case 'fanout-expect':
      return fanout.expect(task.params.version);
    case 'fanout-collect':
      return fanout.collect(task.params.timeoutMs);
    case 'fanout-close':
      return fanout.close();
    case 'resync':
      return resyncBench(task.params);
    case 'sequential':
      return sequentialRequests(task.params);
    case 'commit-to-frame':
      return commitToFrame(task.params);
  }
}

process.on('message', (task: Task) => {
  run(task).then(
    (result) => send({ id: task.id, ok: true, result }),
    (error: Error) => send({ id: task.id, ok: false, error: error.stack ?? error.message }),
  );
});
process.on('disconnect', () => process.exit(0));
