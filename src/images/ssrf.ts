/**
 * The SSRF guard: which addresses an image fetch may connect to.
 *
 * A catalog is input from outside, and a URL in it must not make the job read the cloud metadata
 * service (169.254.169.254), an admin port on localhost or a service inside the network. So every
 * hop (the first URL and each redirect) is checked after DNS resolution, and the fetch connects to
 * exactly the address that was checked (fetch.ts), which also defeats DNS rebinding.
 *
 * Ranges come from the IANA special-purpose address registries (RFC 6890 and successors). They are
 * matched with Node's own `net.BlockList` rather than a package: it is built in, handles
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1` matches 127.0.0.0/8), and the list below is the policy,
 * which must be readable in one place whatever library classifies addresses.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ImageError } from './errors.js';
import { redactImageUrl } from './url.js';

type Range = [network: string, prefix: number, name: string];

const IPV4_SPECIAL: Range[] = [
  ['0.0.0.0', 8, 'this-network/unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved/broadcast'],
];

const IPV6_SPECIAL: Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  // Deprecated IPv4-compatible addresses (::a.b.c.d) embed an IPv4 address no check above sees.
  ['::', 96, 'IPv4-compatible'],
  ['64:ff9b::', 96, 'NAT64 (embeds an IPv4 address)'],
  ['64:ff9b:1::', 48, 'local NAT64'],
  ['100::', 64, 'discard-only'],
  ['2001::', 32, 'Teredo (embeds an IPv4 address)'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4 (embeds an IPv4 address)'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

function compile(ranges: Range[], type: 'ipv4' | 'ipv6'): Array<{ list: BlockList; name: string; cidr: string }> {
  return ranges.map(([network, prefix, name]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, type);
    return { list, name, cidr: `${network}/${prefix}` };
  });
}

const V4 = compile(IPV4_SPECIAL, 'ipv4');
const V6 = compile(IPV6_SPECIAL, 'ipv6');
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');
/** Only global unicast (2000::/3) is public IPv6; everything else is special or unassigned. */
const GLOBAL_UNICAST_V6 = new BlockList();
GLOBAL_UNICAST_V6.addSubnet('2000::', 3, 'ipv6');

/**
 * Why `address` (an IP literal) must not be fetched from, e.g. "loopback (127.0.0.0/8)", or null
 * when it is a public unicast address. A string that is not an IP address is refused too.
 */
export function blockedReason(address: string): string | null {
  const family = isIP(address);
  if (family === 4) {
    const hit = V4.find((r) => r.list.check(address, 'ipv4'));
    return hit ? `${hit.name} (${hit.cidr})` : null;
  }
  if (family === 6) {
    if (MAPPED.check(address, 'ipv6')) {
      // BlockList matches an IPv4-mapped address against IPv4 rules.
      const hit = V4.find((r) => r.list.check(address, 'ipv6'));
      return hit ? `IPv4-mapped ${hit.name} (${hit.cidr})` : null;
    }
    const hit = V6.find((r) => r.list.check(address, 'ipv6'));
    if (hit) return `${hit.name} (${hit.cidr})`;
    return GLOBAL_UNICAST_V6.check(address, 'ipv6') ? null : 'not global unicast (outside 2000::/3)';
  }
  return 'not an IP address';
}

/** `http://[::1]/` has hostname `[::1]`; lookups and checks want the bare address. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** The port a URL connects to, spelled out. */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Whether `url`'s host is opened by `allowHosts`. An entry is a host name or IP literal, optionally
 * with a port (`cdn.internal`, `127.0.0.1:8080`, `[::1]:8080`); without a port it opens every port.
 * Entries match the host as written in the URL, never what it resolves to: opening `cdn.internal`
 * does not open other names that happen to resolve to the same private address.
 */
export function isAllowlisted(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = effectivePort(url);
  return allowHosts.some((entry) => {
    const parsed = parseAllowEntry(entry);
    return parsed !== null && parsed.host === host && (parsed.port === null || parsed.port === port);
  });
}

function parseAllowEntry(entry: string): { host: string; port: number | null } | null {
  try {
    // Let the WHATWG parser normalise the host exactly as it normalises image URLs (case, IPv6, IDN).
    const u = new URL(`http://${entry.trim()}`);
    if (u.pathname !== '/' || u.search || u.username) return null;
    return { host: u.hostname.toLowerCase(), port: u.port ? Number(u.port) : /:80$/.test(entry.trim()) ? 80 : null };
  } catch {
    return null;
  }
}

/** Resolves a host name to every address it has (both families), like the OS resolver does. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The address to connect to for `url`, after the guard: every address the host resolves to must be
 * public (one private answer among public ones is how rebinding attacks hide), unless the host is
 * allowlisted. Throws ImageError SSRF_REFUSED or DNS_FAILED.
 */
export async function resolveChecked(url: URL, allowHosts: readonly string[], resolve: Resolver = systemResolver): Promise<{ address: string; family: 4 | 6 }> {
  const host = bareHost(url.hostname);
  const shown = redactImageUrl(url.href);
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      throw new ImageError(
        'DNS_FAILED',
        `cannot resolve ${host} for ${shown}: ${(err as { code?: string }).code ?? (err as Error).message}`,
        { url: shown },
        { cause: err },
      );
    }
    if (addresses.length === 0) throw new ImageError('DNS_FAILED', `${host} has no address (${shown})`, { url: shown });
  }
  if (!isAllowlisted(url, allowHosts)) {
    for (const address of addresses) {
      const reason = blockedReason(address);
      if (reason) {
        const via = address === host ? '' : ` (${host} resolves to ${address})`;
        throw new ImageError('SSRF_REFUSED', `refused to fetch ${shown}: ${address} is ${reason}${via}; add "${url.host}" to images.allowHosts to allow it`, {
          url: shown,
          address,
        });
      }
    }
  }
  const address = addresses[0]!;
  return { address, family: isIP(address) === 6 ? 6 : 4 };
}
