import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

// Real signals, in a process of its own: one Ctrl-C that arrives twice (from the
// terminal and from a supervisor) is one request; another one later forces.
it('a repeat within a second is the same request to stop; a later one forces', () => {
  const script = `
    const { onStopSignals } = await import('./lib/stop-signals.ts');
    onStopSignals({ stop: (s) => console.log('stop ' + s), force: (s) => { console.log('force ' + s); process.exit(3); } });
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => process.kill(process.pid, 'SIGINT'), 20);
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), 1_300);
    setTimeout(() => process.exit(0), 5_000);
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 10_000 });
  expect(result.stdout.trim().split('\n')).toEqual(['stop SIGINT', 'force SIGTERM']);
  expect(result.status).toBe(3);
});
