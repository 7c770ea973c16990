import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/**
 * Who is asking, as Express and `proxy-addr` define it: the socket's address,
 * unless TRUST_PROXY names the peer as a proxy, in which case X-Forwarded-For is
 * walked from the nearest hop outwards and the client is the first address that
 * is not trusted. Only the web launcher calls this (it sees the socket); it
 * passes the result to Next in CLIENT_HEADER, and the app reads only that.
 */
export { CLIENT_HEADER } from './edge-headers';

export type TrustProxy = (address: string, hop: number) => boolean;

/** TRUST_PROXY as proxy-addr's trust function, or null when no one is trusted (the default). */
export function compileTrustProxy(setting: string): TrustProxy | null {
  const value = setting.trim();
  if (value === '' || value === '0' || value === 'false') return null;
  // A hop count, as Express reads a number: trust the n nearest hops, whatever they are.
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return proxyaddr.compile(value.split(',').map((part) => part.trim()).filter(Boolean));
}

// ipaddr.js 1.9 (proxy-addr's, so one copy) has RFC 5952's compact form; its types omit it.
const compact = (address: ipaddr.IPv6) => (address as ipaddr.IPv6 & { toRFC5952String(): string }).toRFC5952String();

/** An address without port or brackets, IPv4-mapped IPv6 as IPv4; null if it is not an IP address. */
export function normaliseAddress(raw: string | undefined): string | null {
  if (!raw) return null;
  // The common cases without a parser: a plain IPv4 address, or one mapped into IPv6.
  const plain = /^(?:::ffff:)?(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.exec(raw);
  if (plain && plain[1].split('.').every((part) => Number(part) <= 255 && (part === '0' || !part.startsWith('0')))) return plain[1];
  let text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  // Zone ids (fe80::1%eth0) name an interface, not a client.
  text = text.replace(/%.*$/, '');
  if (!ipaddr.isValid(text)) return null;
  const address = ipaddr.parse(text);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address().toString();
  }
  return address.kind() === 'ipv6' ? compact(address as ipaddr.IPv6) : address.toString();
}

/** The key every per-client limit counts under: the IPv4 address, or the IPv6 address's /prefix network. */
export function limitKey(address: string, ipv6Prefix: number): string {
  if (!address.includes(':')) return address;
  const parts = (ipaddr.parse(address) as ipaddr.IPv6).parts.slice();
  for (let index = 0; index < 8; index += 1) {
    const keep = Math.max(0, Math.min(16, ipv6Prefix - index * 16));
    parts[index] &= keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
  }
  return `${compact(new ipaddr.IPv6(parts))}/${ipv6Prefix}`;
}

/** The client's normalised address (see above); a socket with no address (closed already) gives "unknown". */
export function clientAddress(request: IncomingMessage, trust: TrustProxy | null): string {
  const socketAddress = normaliseAddress(request.socket.remoteAddress) ?? 'unknown';
  if (trust === null) return socketAddress;
  // [socket, nearest forwarded hop, ..., client]: cut at the first hop that is not trusted.
  const hops = proxyaddr.all(request, trust);
  // A trusted proxy that forwards something that is not an address: the client
  // is that proxy, so garbage can never mint a fresh identity per request.
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const address = normaliseAddress(hops[index]);
    if (address) return address;
  }
  return socketAddress;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}
