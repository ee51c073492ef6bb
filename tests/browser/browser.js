// Launches Debian's chromium headless through playwright-core, with the flags this machine needs
// (no sandbox as root, no background networking, a fresh profile). Never downloads a browser.
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The gateway under test. */
export const BASE = (process.env.SPARKGATE_URL || 'http://127.0.0.1:8998').replace(/\/$/, '');
/** Screenshots, kept as test artifacts (git-ignored). */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'sparkgate-chromium-'));
  // launchPersistentContext would own the profile; a plain launch with --user-data-dir is not
  // allowed, so the profile goes through the context API.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    newPage: async (opts = {}) => {
      const p = await context.newPage();
      if (opts.viewport) await p.setViewportSize(opts.viewport);
      return p;
    },
    close: () => context.close(),
    context,
  };
}
