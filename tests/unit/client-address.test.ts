import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, compileTrustProxy, limitKey, normaliseAddress } from '@/lib/http/client-address';
import { hostAllowed, originAllowed, siteFromConfig } from '@/lib/http/site';

const request = (socket: string, forwarded?: string) =>
  ({ socket: { remoteAddress: socket }, connection: { remoteAddress: socket }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as unknown as IncomingMessage;

describe('client address', () => {
  it('normalises: IPv4-mapped IPv6 to IPv4, no ports, no brackets, one IPv6 spelling', () => {
    expect(normaliseAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseAddress('1.2.3.4:5555')).toBe('1.2.3.4');
    expect(normaliseAddress('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(normaliseAddress('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normaliseAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normaliseAddress('not-an-address')).toBeNull();
    expect(normaliseAddress('')).toBeNull();
  });

  it('groups IPv6 clients by prefix, and keeps IPv4 whole', () => {
    expect(limitKey('203.0.113.7', 56)).toBe('203.0.113.7');
    expect(limitKey('2001:db8:1:2ff:aaaa::1', 56)).toBe('2001:db8:1:200::/56');
    expect(limitKey('2001:db8:1:2ff:bbbb::2', 56)).toBe(limitKey('2001:db8:1:200::9', 56));
    expect(limitKey('2001:db8:1:2ff:bbbb::2', 64)).toBe('2001:db8:1:2ff::/64');
  });

  it('by default is the socket address, whatever X-Forwarded-For says', () => {
    const trust = compileTrustProxy('');
    expect(trust).toBeNull();
    expect(clientAddress(request('::ffff:10.0.0.5', '203.0.113.1'), trust)).toBe('10.0.0.5');
  });

  it('with trusted proxies, is the nearest address that is not trusted', () => {
    const loopback = compileTrustProxy('loopback');
    expect(clientAddress(request('127.0.0.1', '198.51.100.1, 203.0.113.9'), loopback)).toBe('203.0.113.9');
    // A peer that is not a trusted proxy is the client, whatever it forwards.
    expect(clientAddress(request('192.0.2.10', '203.0.113.9'), loopback)).toBe('192.0.2.10');
    const subnets = compileTrustProxy('127.0.0.1/8, 10.0.0.0/8');
    expect(clientAddress(request('127.0.0.1', '198.51.100.1, 10.1.1.1'), subnets)).toBe('198.51.100.1');
  });

  it('with a hop count, trusts that many hops and no more', () => {
    const one = compileTrustProxy('1');
    expect(clientAddress(request('127.0.0.1', '198.51.100.1, 203.0.113.9'), one)).toBe('203.0.113.9');
    const two = compileTrustProxy('2');
    expect(clientAddress(request('127.0.0.1', '198.51.100.1, 203.0.113.9'), two)).toBe('198.51.100.1');
    expect(clientAddress(request('127.0.0.1', '203.0.113.9:5555'), one)).toBe('203.0.113.9');
  });

  it('never takes garbage from a trusted hop as a client of its own', () => {
    expect(clientAddress(request('127.0.0.1', 'garbage'), compileTrustProxy('1'))).toBe('127.0.0.1');
  });
});

describe('site: allowed hosts and origins', () => {
  const base = { HOST: '127.0.0.1', PORT: 3000, ALLOWED_HOSTS: '', PUBLIC_ORIGIN: '' };

  it('allows the local names by default, on any port, and nothing else', () => {
    const site = siteFromConfig(base);
    for (const host of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000', 'LOCALHOST', 'localhost:8080']) expect(hostAllowed(site, host), host).toBe(true);
    for (const host of ['evil.example:3000', 'evil.example', '127.0.0.2:3000', '', undefined]) expect(hostAllowed(site, host), String(host)).toBe(false);
  });

  it('adds ALLOWED_HOSTS, a specific HOST, and PUBLIC_ORIGIN', () => {
    const site = siteFromConfig({ ...base, HOST: '192.0.2.4', ALLOWED_HOSTS: 'ripple.lan, other.lan:8080', PUBLIC_ORIGIN: 'https://ripple.example.com' });
    for (const host of ['ripple.lan', 'ripple.lan:3000', 'other.lan:8080', '192.0.2.4:3000', 'ripple.example.com']) expect(hostAllowed(site, host), host).toBe(true);
    expect(hostAllowed(site, 'other.lan:9090')).toBe(false);
  });

  it('lets writes come from the public origin and the local origins on PORT, never from Host alone', () => {
    const local = siteFromConfig(base);
    expect(originAllowed(local, 'http://localhost:3000')).toBe(true);
    expect(originAllowed(local, 'http://127.0.0.1:3000')).toBe(true);
    expect(originAllowed(local, 'http://evil.example:3000')).toBe(false);
    expect(originAllowed(local, 'http://localhost:3001')).toBe(false);
    expect(originAllowed(local, 'null')).toBe(false);
    const published = siteFromConfig({ ...base, PUBLIC_ORIGIN: 'https://ripple.example.com' });
    expect(originAllowed(published, 'https://ripple.example.com')).toBe(true);
    expect(originAllowed(published, 'http://ripple.example.com')).toBe(false);
  });
});
