/**
 * `pruem status`: the running gateway's GET /api/status, found from the configuration. Over HTTPS the
 * server must present the very certificate the configuration names (compared by SHA-256): on the box
 * itself that is a stronger check than a CA chain, and it works for the self-signed certificate too.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { GatewayConfig } from '../config/config.js';
import { listenerTlsMode, selfSignedPaths } from '../../provisioning/listener-tls.js';

export interface StatusTarget {
  readonly url: string;
  /** SHA-256 fingerprint the server's certificate must have (HTTPS only). */
  readonly pinSha256: string | null;
}

/** Where the daemon of `config` listens, and which certificate it must show. */
export function statusTarget(config: GatewayConfig): StatusTarget {
  const api = config.listen.api;
  // A wildcard address is reached on loopback from the box itself.
  const host = api.host === '0.0.0.0' ? '127.0.0.1' : api.host === '::' ? '[::1]' : api.host.includes(':') ? `[${api.host}]` : api.host;
  const mode = listenerTlsMode(api);
  if (mode === 'off') return { url: `http://${host}:${api.port}`, pinSha256: null };
  const certificate = mode === 'self-signed' ? selfSignedPaths(config.dataDir).certificate : mode.certificate;
  return { url: `https://${host}:${api.port}`, pinSha256: new X509Certificate(readFileSync(certificate)).fingerprint256 };
}

export type StatusResult = { readonly ok: true; readonly status: number; readonly body: unknown } | { readonly ok: false; readonly error: string };

export function fetchStatus(target: StatusTarget, timeoutMs = 10_000): Promise<StatusResult> {
  return new Promise((resolve) => {
    const url = new URL('/api/status', target.url);
    const https = url.protocol === 'https:';
    // With a pin, the pin is checked below instead of a CA chain; without one (a URL given by hand) the
    // usual CA check applies.
    const req = (https ? httpsRequest : httpRequest)(url, { timeout: timeoutMs, ...(https && target.pinSha256 ? { rejectUnauthorized: false } : {}) }, (res) => {
      if (https && target.pinSha256) {
        const seen = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (seen !== target.pinSha256) {
          res.destroy();
          resolve({ ok: false, error: `the server at ${target.url} shows certificate ${seen}, not the configured ${target.pinSha256}` });
          return;
        }
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ ok: true, status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch {
          resolve({ ok: false, error: `the answer from ${target.url} is not JSON (HTTP ${res.statusCode})` });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ ok: false, error: `${target.url}: ${e.message}` }));
    req.end();
  });
}
