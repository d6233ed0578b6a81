// The cache key of nginx-jwt-auth's decision cache (snippets/jwt-auth-cache.conf), for njs.
//
// nginx writes a cache entry's key in clear at the top of its file, and the key must hold the
// credentials: as plain text, every live token and cookie would sit on disk, readable by anyone who
// can read the cache folder, until `inactive` removes the file. So the key is a SHA-256 digest of
// every input of the decision; the file then names no token, and two requests that differ in any
// input never share an entry. It runs in the auth subrequest, where $uri is the internal location's
// own name and the headers are the client's.
import crypto from 'crypto';

function key(r) {
  const v = r.variables;
  const inputs = [
    // The credentials /check reads: the whole Authorization and Cookie headers.
    v.http_authorization,
    v.http_cookie,
    // The policy: the location's requirement and the internal auth location with its arguments.
    v.auth_require,
    v.uri,
    v.args,
    // Which server and which service: a decision is never reused across servers or upstreams.
    v.scheme,
    v.server_addr,
    v.server_port,
    v.server_name,
    v.proxy_host,
    // What the cross-site check on cookie-authenticated unsafe methods reads.
    v.request_method,
    v.http_origin,
    v.http_sec_fetch_site,
    v.http_host,
  ];
  // Each part is written as "<length>:<part>;", which keeps the parts apart whatever they contain
  // (the lengths say where each one ends). njs runs this on every cached request: a plain loop and
  // one string cost nginx ~14 µs less per request than JSON.stringify over a mapped array
  // (BENCHMARKS.md).
  let text = '';
  for (let i = 0; i < inputs.length; i++) {
    const value = inputs[i] || '';
    text += value.length + ':' + value + ';';
  }
  return crypto.createHash('sha256').update(text).digest('base64url');
}

export default { key };
