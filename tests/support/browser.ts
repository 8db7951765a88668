import { execFileSync } from 'node:child_process';
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

/** Frames `[first, last]` of a video: 0-based, inclusive, at the video's own rate. */
export type FrameRange = readonly [first: number, last: number];

/**
 * Writes a y4m clip for the fake camera ({@link ChromiumOptions.video}; Chromium loops it from the
 * start of capture) with ffmpeg: the given frame ranges of `source`, in the order given, at `fps`,
 * or the whole video unchanged without ranges. The clip is test data: write it under an ignored
 * folder (tests/output or a temporary one), never into the repository.
 */
export function fakeCameraClip(
  source: string,
  out: string,
  ranges: readonly FrameRange[] = [],
  fps = 30,
): string {
  const args = ['-v', 'error', '-y', '-i', source];
  if (ranges.length > 0) {
    const parts = ranges.map(
      ([first, last], i) => `[0:v]trim=start_frame=${first}:end_frame=${last + 1},setpts=PTS-STARTPTS[p${i}]`,
    );
    const inputs = ranges.map((_, i) => `[p${i}]`).join('');
    args.push('-filter_complex', `${parts.join(';')};${inputs}concat=n=${ranges.length}:v=1:a=0[out]`);
    args.push('-map', '[out]');
  } else {
    args.push('-an');
  }
  args.push('-r', String(fps), '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', out);
  execFileSync('ffmpeg', args, { stdio: 'pipe' });
  return out;
}

/** Writes frame `index` (0-based) of a video as a JPEG (a reference photo from a clip). */
export function videoFrame(source: string, index: number, out: string): string {
  execFileSync(
    'ffmpeg',
    ['-v', 'error', '-y', '-i', source, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', '-q:v', '2', out],
    { stdio: 'pipe' },
  );
  return out;
}
