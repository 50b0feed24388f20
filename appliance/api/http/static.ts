import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname, join, resolve, sep } from 'node:path';
import type { Context, Next } from 'koa';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves the console bundle. Files are read once and kept (the bundle is small and changes only
 * with a new release), with an ETag. Paths that are not files get index.html: the console routes
 * in the browser. Nothing outside the folder is reachable (resolved path must stay inside it).
 */
export function serveConsole(dir: string): (ctx: Context, next: Next) => Promise<void> {
  const root = resolve(dir);
  const cache = new Map<string, { body: Buffer; etag: string; type: string }>();

  async function load(path: string): Promise<{ body: Buffer; etag: string; type: string } | null> {
    const hit = cache.get(path);
    if (hit) return hit;
    try {
      const s = await stat(path);
      if (!s.isFile()) return null;
      const body = await readFile(path);
      const entry = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, type: TYPES[extname(path)] ?? 'application/octet-stream' };
      cache.set(path, entry);
      return entry;
    } catch {
      return null;
    }
  }

  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/api' || ctx.path.startsWith('/api/')) return next();
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.path);
    } catch {
      ctx.status = 400;
      return;
    }
    const candidate = resolve(join(root, relative));
    const inside = candidate === root || candidate.startsWith(root + sep);
    let file = inside && extname(candidate) ? await load(candidate) : null;
    if (!file) {
      // Asset-looking paths that do not exist are 404s; page paths get the app.
      if (extname(relative) && relative !== '/index.html') {
        ctx.status = 404;
        ctx.type = 'text/plain';
        ctx.body = 'not found';
        return;
      }
      file = await load(join(root, 'index.html'));
    }
    if (!file) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The console is not built (run: node console/build.mjs).';
      return;
    }
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('ETag', file.etag);
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  };
}
