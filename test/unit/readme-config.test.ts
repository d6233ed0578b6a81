/** README's configuration table names every variable the configuration reads, so none is undocumented. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../support/paths.js';

test('every variable src/config reads is in README.md', () => {
  const dir = join(REPO_ROOT, 'src', 'config');
  const read = new Set<string>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    for (const match of readFileSync(join(dir, file), 'utf8').matchAll(
      /\.(?:string|secret|file|integer|boolean|durationMs|wholeSecondsMs|bytes|oneOf|list)\('([A-Z][A-Z0-9_]+)'/g,
    ))
      read.add(match[1] as string);
  }
  assert.ok(read.size > 40, `found only ${read.size} variables: the pattern no longer matches the sections`);
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const missing = [...read].filter((name) => !readme.includes(`\`${name}\``) && !readme.includes(`\`${name.replace(/_FILE$/, '')}\` / \`${name}\``));
  assert.deepEqual(missing, []);
});
