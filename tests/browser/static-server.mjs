// A tiny static file server, used twice by the browser tests:
// - by run.sh as the "CDN" that /docs loads Swagger UI from (node_modules/swagger-ui-dist), since the
//   machine has no internet: `node static-server.mjs DIR` listens on 127.0.0.1 on a free port and
//   prints `http://127.0.0.1:PORT` on its first line of stdout; like jsDelivr it answers with
//   `Access-Control-Allow-Origin: *`, without which the browser refuses a file it loads with
//   `crossorigin` to check its integrity;
// - by browser.test.mjs (imported) to serve page/ as a web client on http://localhost:3000 and on an
//   origin that the API does not allow.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export function handler(root, extraHeaders = {}) {
  const base = path.resolve(root);
  return (req, res) => {
    const url = new URL(req.url, 'http://x');
    let rel = decodeURIComponent(url.pathname);
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(base, '.' + rel);
    if ((file !== base && !file.startsWith(base + path.sep)) || !['GET', 'HEAD'].includes(req.method)) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': data.length,
        'Cache-Control': 'no-store',
        ...extraHeaders,
      });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  };
}

/** Listens on `host:port` (port 0: any free one); resolves to the server. */
export function serve(root, host, port, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler(root, extraHeaders));
    server.keepAliveTimeout = 1000;
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2];
  if (!root || !fs.existsSync(root)) {
    console.error(`usage: node static-server.mjs DIR (no such directory: ${root})`);
    process.exit(2);
  }
  const server = await serve(root, '127.0.0.1', Number(process.argv[3] ?? 0), { 'Access-Control-Allow-Origin': '*' });
  console.log(`http://127.0.0.1:${server.address().port}`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
