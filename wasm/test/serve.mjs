// A static file server on 127.0.0.1 for the web page's tests and
// measurements: `/` serves bindings-examples/web/, `/examples/` the SHIN-NY
// example folder. Run alone (`node serve.mjs [PORT]`) to try the page.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const webDir = join(repoRoot, 'bindings-examples/web');
export const exampleDir = resolve(repoRoot, '../shared/fhir-packages/us.ny.hrsn#1.9.4/package/example');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
};

/** Maps a URL path to a file under one of the served folders, or null. */
function fileFor(urlPath) {
  const mounts = [['/examples/', exampleDir], ['/', webDir]];
  for (const [prefix, dir] of mounts) {
    if (!urlPath.startsWith(prefix)) continue;
    let rest = decodeURIComponent(urlPath.slice(prefix.length));
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const file = normalize(join(dir, rest));
    return file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

/** Starts the server; resolves to { url, close() }. Port 0 picks a free one. */
export function serve(port = 0) {
  const server = createServer(async (req, res) => {
    const file = fileFor(new URL(req.url, 'http://127.0.0.1').pathname);
    try {
      if (!file) throw new Error('outside');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      ok({ url: `http://127.0.0.1:${p}/`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await serve(Number(process.argv[2] || 8080));
  console.log(`serving ${webDir} at ${url}`);
}
