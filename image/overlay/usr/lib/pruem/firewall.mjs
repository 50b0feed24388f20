#!/usr/lib/pruem/node/bin/node
// Generates the nftables ruleset from the gateway's configuration (config.json: listeners, TESTA
// relay, POP3) and firewall.json beside it (management and national networks, DNS, NTP), default
// deny both ways. Prints the ruleset; pruem-firewall.service loads it with `nft -f`.
// Addresses must be literal (the firewall is loaded before any resolver is trusted); a host name in
// the configuration is reported and left closed.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

const dir = process.argv[2] ?? '/var/lib/pruem/gateway';
const read = (f) => {
  try { return JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')); } catch (e) { console.error(`firewall: ${f}: ${e.message}`); return {}; }
};
const cfg = read('config.json');
const fw = read('firewall.json');
const port = (p, d) => (Number.isInteger(p) && p > 0 && p < 65536 ? p : d);
const cidr = (s) => {
  if (typeof s !== 'string') return null;
  const [a, len, extra] = s.split('/');
  const v = isIP(a);
  if (!v || extra !== undefined) return null;
  if (len !== undefined && !(/^\d+$/.test(len) && Number(len) <= (v === 4 ? 32 : 128))) return null;
  return { v, s };
};
const nets = (list, what) => {
  const out = { 4: [], 6: [] };
  for (const s of Array.isArray(list) ? list : []) {
    const c = cidr(s);
    if (c) out[c.v].push(c.s);
    else console.error(`firewall: ${what}: "${s}" is not a literal address or network, left closed`);
  }
  return out;
};
const lines = [];
const rule = (chain, set, tail) => {
  if (set[4].length) lines.push(`add rule inet pruem ${chain} ip ${chain === 'input' ? 'saddr' : 'daddr'} { ${set[4].join(', ')} } ${tail}`);
  if (set[6].length) lines.push(`add rule inet pruem ${chain} ip6 ${chain === 'input' ? 'saddr' : 'daddr'} { ${set[6].join(', ')} } ${tail}`);
};

const listen = cfg.listen ?? {};
const apiPort = port(listen.api?.port, 8080);
const smtpPort = listen.smtp === null ? null : port(listen.smtp?.port, 2525);
const officersPort = listen.officers === null ? null : port(listen.officers?.port, 8090);
const management = nets(fw.management, 'management');
const national = nets(fw.national, 'national');
const relay = cfg.relay ? nets([cfg.relay.host], 'relay') : nets([], 'relay');
const pop3 = cfg.pop3 ? nets([cfg.pop3.host], 'pop3') : nets([], 'pop3');
const dns = nets(fw.dns, 'dns');
const ntp = nets(fw.ntp, 'ntp');

lines.push('table inet pruem', 'delete table inet pruem', 'table inet pruem {',
  '  counter dropped_in { }',
  '  chain input { type filter hook input priority 0; policy drop;',
  '    iif lo accept',
  '    ct state invalid drop',
  '    ct state established,related accept',
  '    meta l4proto 1 icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } limit rate 10/second accept',
  '    meta l4proto 58 icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept',
  '    udp sport 67 udp dport 68 accept',
  '  }',
  '  chain forward { type filter hook forward priority 0; policy drop; }',
  '  chain output { type filter hook output priority 0; policy drop;',
  '    oif lo accept',
  '    ct state invalid drop',
  '    ct state established,related accept',
  '    meta l4proto 1 accept',
  '    meta l4proto 58 accept',
  '    udp sport 68 udp dport 67 accept',
  '  }',
  '}');
// Management network: console and API.
rule('input', management, `tcp dport ${apiPort} accept`);
// TESTA side: SMTP only from the configured relay; nothing while no relay is configured (unprovisioned).
if (smtpPort !== null) rule('input', relay, `tcp dport ${smtpPort} accept`);
// National systems: the officers' client API, and outbound connections to national systems.
if (officersPort !== null) rule('input', national, `tcp dport ${officersPort} accept`);
rule('output', national, 'tcp dport 1-65535 accept');
if (cfg.relay) rule('output', relay, `tcp dport ${port(cfg.relay.port, 25)} accept`);
if (cfg.pop3) rule('output', pop3, `tcp dport ${port(cfg.pop3.port, 110)} accept`);
rule('output', dns, 'meta l4proto { 6, 17 } th dport 53 accept');
rule('output', ntp, 'udp dport 123 accept');
lines.push('add rule inet pruem input counter name dropped_in drop');
process.stdout.write(lines.join('\n') + '\n');
