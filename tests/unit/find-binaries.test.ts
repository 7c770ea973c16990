import { describe, expect, it } from 'vitest';
import { findPostgresBin, findRedisServer, INSTALL_HELP } from '@/scripts/find-binaries';
import { isLocal } from '@/scripts/reachable';

describe('finding the server binaries for npm start', () => {
  it('finds nothing where nothing is installed, and then says how to install it', () => {
    expect(findPostgresBin({ roots: ['/nonexistent'], searchPath: '/nonexistent/bin' })).toBeNull();
    expect(INSTALL_HELP.postgres).toContain('sudo apt-get install -y postgresql');
    expect(INSTALL_HELP.redis).toContain('sudo apt-get install -y redis-server');
    expect(INSTALL_HELP.redis).toContain('docker compose up -d');
  });

  it('finds Debian PostgreSQL under /usr/lib/postgresql/<version>/bin, off PATH', () => {
    expect(findPostgresBin({ searchPath: '' })).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
    expect(findRedisServer()).toMatch(/redis-server$/);
  });

  it('treats only loopback hosts as this machine', () => {
    expect(isLocal(new URL('postgres://postgres@localhost:5432/ripple'))).toBe(true);
    expect(isLocal(new URL('redis://127.0.0.1:6379'))).toBe(true);
    expect(isLocal(new URL('redis://[::1]:6379'))).toBe(true);
    expect(isLocal(new URL('postgres://db.example.com/ripple'))).toBe(false);
  });
});
