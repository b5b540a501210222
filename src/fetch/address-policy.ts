/**
 * Which IP addresses an outbound fetch may connect to. Loopback, private,
 * link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254 included),
 * unspecified, multicast, documentation and other special ranges are refused
 * unless a configured CIDR allows them. IPv4-mapped IPv6 (::ffff:10.0.0.1) is
 * judged as the IPv4 address it carries, so it cannot smuggle one past.
 */
import { BlockList, isIP } from 'node:net';

const REFUSED_V4 = [
  '0.0.0.0/8', // "this network", including the unspecified 0.0.0.0
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
];
const REFUSED_V6 = [
  '::/96', // unspecified, loopback and IPv4-compatible
  '64:ff9b::/96', // NAT64: reaches IPv4 addresses
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32', // Teredo
  '2001:db8::/32',
  '2002::/16', // 6to4: embeds an IPv4 address
  'fc00::/7', // unique local (fd00:ec2::254 is EC2's metadata)
  'fe80::/10', // link-local
  'fec0::/10',
  'ff00::/8', // multicast
];

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits = ''] = cidr.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 counts as two); undefined if malformed. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, ''); // zone id
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...Array<number>(missing).fill(0), ...tail];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:10.0.0.1, ::ffff:a00:1), if it is one. */
export function unmapIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (groups === undefined || groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) {
    return undefined;
  }
  const [high = 0, low = 0] = groups.slice(6);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Decides whether connecting to an address is allowed. */
export type AddressPolicy = (address: string) => boolean;

/**
 * A policy refusing the special ranges, except those in `allowedCidrs`.
 * @example const allowed = addressPolicy(['127.0.0.0/8']); allowed('127.0.0.1'); // true
 */
export function addressPolicy(allowedCidrs: readonly string[]): AddressPolicy {
  const refused = blockList([...REFUSED_V4, ...REFUSED_V6]);
  const allowed = blockList(allowedCidrs);
  return (raw) => {
    const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    const family = isIP(bare);
    if (family === 0) return false;
    const v4 = family === 4 ? bare : unmapIpv4(bare);
    const [address, type] = v4 === undefined ? [bare, 'ipv6' as const] : [v4, 'ipv4' as const];
    if (allowed.check(address, type)) return true;
    return !refused.check(address, type);
  };
}

/** Host names that may be fetched: exact (`api.example.com`) or a wildcard (`*.example.com`). */
export function hostPolicy(allowedHosts: readonly string[]): (host: string) => boolean {
  const exact = new Set(allowedHosts.filter((host) => !host.startsWith('*.')));
  const suffixes = allowedHosts.filter((host) => host.startsWith('*.')).map((host) => host.slice(1));
  return (host) => {
    const name = host.toLowerCase().replace(/\.$/, '');
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
  };
}
