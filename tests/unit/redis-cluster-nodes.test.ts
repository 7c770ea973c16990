import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../scripts/redis-cluster-nodes';

describe('parseClusterNodes (scripts/redis-cluster.ts reads CLUSTER NODES with it)', () => {
  it('reads roles, primaries, failure flags and slot ranges, skipping slots still migrating', () => {
    const text = [
      'b0c6 127.0.0.1:7101@17101 myself,master - 0 0 1 connected 0-5460 7000 [7001->-aa77]',
      'aa77 127.0.0.1:7102@17102,node-b master,fail? - 1700000000000 0 2 connected 5461-10922',
      'b0c7 127.0.0.1:7104@17104 slave aa77 0 1700000000000 2 connected',
      'dead 127.0.0.1:7103@17103 master,fail - 0 0 3 disconnected',
      '',
    ].join('\n');
    expect(parseClusterNodes(text)).toEqual([
      { id: 'b0c6', port: 7101, flags: ['myself', 'master'], failing: false, slots: [[0, 5460], [7000, 7000]] },
      { id: 'aa77', port: 7102, flags: ['master', 'fail?'], failing: true, slots: [[5461, 10922]] },
      { id: 'b0c7', port: 7104, flags: ['slave'], masterId: 'aa77', failing: false, slots: [] },
      { id: 'dead', port: 7103, flags: ['master', 'fail'], failing: true, slots: [] },
    ]);
  });
});
