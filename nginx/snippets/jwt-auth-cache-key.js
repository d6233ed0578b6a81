// The credentials' part of nginx-jwt-auth's decision cache key (snippets/jwt-auth-cache.conf), for njs.
//
// nginx writes a cache entry's key in clear at the top of its file, and the key must hold the
// credentials: as plain text, every live token and cookie would sit on disk, readable by anyone who
// can read the cache folder, until `inactive` removes the file. So the key holds a SHA-256 digest
// of the whole Authorization and Cookie headers instead; the rest of the key (policy, location,
// server) names no secret and is written by nginx itself.
//
// Only the credentials are hashed here because nginx computes a js_set variable once per client
// request and keeps it through internal redirects and every auth subrequest: the headers are the
// same for all of them, while the location, its policy and its arguments are not. (Hashing those
// here too let a request that passed a lenient location and was redirected inside nginx to a
// stricter one reuse the lenient allow; test/integration/nginx-cache.test.ts.)
//
// A header value never holds a line break, so "authorization \n cookie" is one text per pair.
// Read as bytes (rawVariables): no conversion to a JavaScript string and back. njs runs this on
// every cached request; BENCHMARKS.md has what it costs.
import crypto from 'crypto';

function credentials(r) {
  const v = r.rawVariables;
  return crypto
    .createHash('sha256')
    .update(v.http_authorization || '')
    .update('\n')
    .update(v.http_cookie || '')
    .digest('base64url');
}

export default { credentials };
