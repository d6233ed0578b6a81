/**
 * `npm run demo` on a machine without nginx: it installs nginx itself when it can (root, or sudo
 * without a password, and apt-get), and otherwise stops at once with the one command to run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planNginxInstall } from '../../support/nginx-install.js';

describe('getting nginx for the demo', () => {
  test('as root with apt-get: installs it (update, then nginx without recommends)', () => {
    assert.deepEqual(planNginxInstall({ isRoot: true, canSudo: false, hasAptGet: true }), {
      kind: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'nginx'],
      ],
    });
  });
  test('with sudo that needs no password: the same through sudo -n (never a password prompt)', () => {
    const plan = planNginxInstall({ isRoot: false, canSudo: true, hasAptGet: true });
    assert.equal(plan.kind, 'install');
    assert.ok(plan.kind === 'install' && plan.commands.every((argv) => argv[0] === 'sudo' && argv[1] === '-n' && argv[2] === 'apt-get'));
  });
  test('otherwise: the one command to run, installing nothing', () => {
    assert.deepEqual(planNginxInstall({ isRoot: false, canSudo: false, hasAptGet: true }), { kind: 'tell', command: 'sudo apt-get install -y nginx' });
  });
  test('without apt-get (not Debian or Ubuntu): says to use the package manager, installing nothing', () => {
    const plan = planNginxInstall({ isRoot: true, canSudo: true, hasAptGet: false });
    assert.equal(plan.kind, 'tell');
    assert.match(plan.kind === 'tell' ? plan.command : '', /package manager/);
  });
});
