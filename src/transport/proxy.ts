/**
 * Which way a request to the portal goes: directly, or through the proxy named by HTTPS_PROXY /
 * HTTP_PROXY, unless NO_PROXY names the host. The rules are undici's EnvHttpProxyAgent's (which
 * does the routing), restated here so that `labup doctor` can say which way it went — with any
 * credentials in the proxy URL masked.
 */

export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

export type ProxyRoute =
  | { kind: 'direct'; reason: string }
  | { kind: 'proxy'; /** The proxy URL, password masked. */ proxy: string; /** The variable it came from. */ from: 'HTTPS_PROXY' | 'HTTP_PROXY' };

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** A proxy URL fit to print: the password (and a token-like user name alone) replaced by `****`. */
export function maskProxyUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = '****';
    else if (u.username) u.username = '****';
    return u.href.replace(/\/$/, '');
  } catch {
    return text.replace(/\/\/[^@/]*@/, '//****@');
  }
}

function bypassed(url: URL, noProxy: string): string | undefined {
  const value = noProxy.trim();
  if (!value) return undefined;
  if (value === '*') return 'NO_PROXY is *';
  const hostname = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(url.port, 10) || DEFAULT_PORTS[url.protocol] || 0;
  for (const raw of value.split(/[,\s]/)) {
    if (!raw) continue;
    const m = /^(.+):(\d+)$/.exec(raw);
    const host = (m ? m[1]! : raw).replace(/^\*?\./, '').toLowerCase();
    const entryPort = m ? Number.parseInt(m[2]!, 10) : 0;
    if (entryPort && entryPort !== port) continue;
    if (hostname === host || hostname.endsWith(`.${host}`)) return `NO_PROXY names ${raw}`;
  }
  return undefined;
}

/** The route a request to `url` takes with these settings. */
export function proxyRoute(url: URL, s: ProxySettings): ProxyRoute {
  const https = url.protocol === 'https:';
  // As undici does: an https URL without HTTPS_PROXY goes through HTTP_PROXY when that is set.
  const proxy = https ? s.httpsProxy || s.httpProxy : s.httpProxy;
  if (!proxy) return { kind: 'direct', reason: https ? 'no HTTPS_PROXY or HTTP_PROXY set' : 'no HTTP_PROXY set' };
  const skip = bypassed(url, s.noProxy);
  if (skip) return { kind: 'direct', reason: skip };
  return { kind: 'proxy', proxy: maskProxyUrl(proxy), from: https && s.httpsProxy ? 'HTTPS_PROXY' : 'HTTP_PROXY' };
}

export function describeRoute(r: ProxyRoute): string {
  return r.kind === 'proxy' ? `through the proxy ${r.proxy} (${r.from})` : `directly (${r.reason})`;
}
