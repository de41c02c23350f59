/**
 * Serves the built dashboard (Vite's output, `dist/web/` by default) from memory: files are
 * read on first request and kept. Hashed assets are cached for a year, `index.html` never.
 * Only GET and HEAD of files under the root; anything else is 404.
 *
 * Called by admin.ts for paths outside /api, /metrics and the health checks.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}

/** Headers every dashboard file carries: no framing, no sniffing, no third-party anything. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

/** `dist/web` of the package this file belongs to (from `src/admin` or `dist/src/admin`). */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return join(dir, 'dist', 'web')
}

/**
 * @example
 * const serve = staticFiles(defaultWebRoot())
 * if (!(await serve(req, res))) notFound(res)
 */
export function staticFiles(root: string) {
  const cache = new Map<string, Buffer | null>()
  return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    let pathname: string
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    } catch {
      return false
    }
    const rel = pathname === '/' ? 'index.html' : pathname.slice(1)
    const file = normalize(join(root, rel))
    if (!file.startsWith(root + sep)) return false
    let body = cache.get(file)
    if (body === undefined) {
      body = await readFile(file).catch(() => null)
      cache.set(file, body)
    }
    if (body === null) {
      if (rel !== 'index.html') return false
      body = Buffer.from(NOT_BUILT)
    }
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': rel.startsWith('assets/')
        ? 'public, max-age=31536000, immutable'
        : 'no-cache',
    })
    res.end(req.method === 'HEAD' ? undefined : body)
    return true
  }
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Bulwark</title>
<body style="font:16px system-ui;background:#0d1117;color:#e6edf3;padding:3rem">
<h1>Bulwark admin</h1><p>The dashboard is not built. Run <code>npm run build:web</code>.</p>
<p>The admin API (<code>/api/…</code>) and <code>/metrics</code> work without it.</p></body>`
