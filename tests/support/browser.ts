import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { NetNamespace } from './netns.ts';

/** Debian's Chromium (`apt-get install chromium`, in .ci/run). */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export interface ChromiumOptions {
  /**
   * Run the browser inside this network namespace. Chromium gathers no ICE candidates on loopback,
   * so WebRTC needs the namespace's veth address; the browser is driven over a pipe, not the network.
   */
  ns?: NetNamespace;
  /** A y4m clip the fake camera plays (looped); without it Chromium's test pattern. */
  video?: string;
  /**
   * Plain-http origins to treat as secure contexts. Cameras are only offered to secure contexts
   * (https or localhost); the test servers listen on namespace addresses over http.
   */
  secureOrigins?: string[];
  /** More Chromium flags. */
  extraArgs?: string[];
}

export interface ChromiumHandle {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with the flags the web issue names: no sandbox (root in CI), no GPU,
 * no QUIC, no background traffic, a fake camera that needs no permission prompt. Playwright gives
 * every launch a fresh temporary `--user-data-dir` of its own (it refuses one passed as a flag).
 */
export async function launchChromium({
  ns,
  video,
  secureOrigins = [],
  extraArgs = [],
}: ChromiumOptions = {}): Promise<ChromiumHandle> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'fv-chromium-'));
  let executablePath = CHROMIUM;
  if (ns) {
    // `ip netns exec` keeps the pipe file descriptors Playwright drives the browser through.
    executablePath = path.join(scratch, 'chromium-in-netns.sh');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${ns.name} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      ...(video ? [`--use-file-for-fake-video-capture=${video}`] : []),
      ...extraArgs,
      ...(secureOrigins.length > 0
        ? [`--unsafely-treat-insecure-origin-as-secure=${secureOrigins.join(',')}`]
        : []),
    ],
  });
  let closed = false;
  return {
    browser,
    close: async () => {
      if (closed) return;
      closed = true;
      await browser.close().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
