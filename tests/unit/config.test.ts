import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@/lib/config';

describe('parseConfig', () => {
  it('gives defaults that work on a developer machine', () => {
    const config = parseConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@localhost:5432/ripple');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.REDIS_PREFIX).toBe('ripple:');
    expect(config.PORT).toBe(3000);
  });

  it('reads and coerces what is set, and treats empty as unset', () => {
    const config = parseConfig({ PORT: '4000', REDIS_PREFIX: 'demo:', DATABASE_URL: '' });
    expect(config.PORT).toBe(4000);
    expect(config.REDIS_PREFIX).toBe('demo:');
    expect(config.DATABASE_URL).toBe('postgres://postgres@localhost:5432/ripple');
  });

  it('names every bad variable and how to fix it', () => {
    let error: unknown;
    try {
      parseConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', REDIS_PREFIX: 'no-colon' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL: must be a postgres:// URL');
    expect(message).toContain('REDIS_PREFIX');
  });
});
