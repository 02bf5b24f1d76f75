import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Reply } from '../route-table.ts';
import { PAGE_CSS } from './assets/page-css.ts';
import { PAGE_HTML } from './assets/page-html.ts';
import { PAGE_JS } from './assets/page-js.ts';

/** Scripts and styles come from this origin only; nothing inline, nothing framed, no form posts. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const sources = {
  page: { type: 'text/html; charset=utf-8', text: PAGE_HTML },
  script: { type: 'text/javascript; charset=utf-8', text: PAGE_JS },
  style: { type: 'text/css; charset=utf-8', text: PAGE_CSS },
} as const;

export type AssetName = keyof typeof sources;

const cache = new Map<AssetName, Asset>();

function load(name: AssetName): Asset {
  let asset = cache.get(name);
  if (!asset) {
    const body = Buffer.from(sources[name].text);
    asset = { type: sources[name].type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
    cache.set(name, asset);
  }
  return asset;
}

/** A static asset, gzipped when the client accepts it, 304 when it already has this version. */
export function assetReply(name: AssetName, request: IncomingMessage, headers: Record<string, string> = {}): Reply {
  const asset = load(name);
  const common = { ...headers, 'content-type': asset.type, etag: asset.etag, vary: 'accept-encoding', 'cache-control': 'no-cache' };
  if (request.headers['if-none-match'] === asset.etag) return { status: 304, headers: common };
  if (acceptsGzip(request)) return { raw: asset.gzip, headers: { ...common, 'content-encoding': 'gzip' } };
  return { raw: asset.body, headers: common };
}

/** Sizes in bytes, plain and gzipped (the benchmark reports them). */
export function assetSizes(): Record<AssetName, { bytes: number; gzip: number }> {
  const sizes = {} as Record<AssetName, { bytes: number; gzip: number }>;
  for (const name of Object.keys(sources) as AssetName[]) {
    const asset = load(name);
    sizes[name] = { bytes: asset.body.length, gzip: asset.gzip.length };
  }
  return sizes;
}

function acceptsGzip(request: IncomingMessage): boolean {
  const header = request.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    return name === 'gzip' && (q === undefined || Number(q.slice(2)) > 0);
  });
}
