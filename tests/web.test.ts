// The web app in real headless Chromium (Debian's `chromium`, driven by playwright-core).
//
// Server and browsers run inside a private network namespace (tests/support/netns.ts): Chromium
// gathers no ICE candidates on loopback, so WebRTC needs the namespace's veth address. The fake
// camera plays the shared clips; pages are plain http on that address, which Chromium is told to
// treat as a secure context (cameras are offered to secure contexts only). Third-party host pages
// are served by this process on the host end of the veth pair: another origin, as in production.
//
// Active liveness: a labelled clip cannot answer the server's challenges, so the genuine case plays
// a clip assembled from the labels in challenge order (a session narrowed to one smile challenge:
// the labelled neutral frames, then a labelled smile, looped), and the replay case the clip as is.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fakeCameraClip,
  launchChromium,
  videoFrame,
  type ChromiumHandle,
  type FrameRange,
} from './support/browser.ts';
import { NetNamespace } from './support/netns.ts';
import { startServer } from './support/server-process.ts';
import { REPO_ROOT, lfwFile, sharedDataDir } from './support/shared-data.ts';

const OUTPUT = path.join(REPO_ROOT, 'tests', 'output');
const DIST = path.join(OUTPUT, 'web-dist');
const SCREENSHOTS = path.join(OUTPUT, 'screenshots');
/** Clips and reference frames made from the shared videos (data: never committed). */
const MADE = path.join(OUTPUT, 'liveness-clips');
const video = (name: string): string => path.join(sharedDataDir(), 'video', name);
const CLIPS = {
  a: video('person-a_320x240_3s.y4m'),
  b: video('person-b_320x240_3s.y4m'),
  /** d19 answering one smile challenge: labelled neutral frames and smiles (made below). */
  smile: path.join(MADE, 'd19-neutral-smile.y4m'),
  /** d19 unchanged: a replay, whatever is asked. */
  replay: path.join(MADE, 'd19.y4m'),
} as const;
type BrowserKind = keyof typeof CLIPS;

/** d19's labelled ranges (tests/fixtures/liveness-labels/d19.json). */
interface ClipLabels {
  fps: number;
  actions: Record<'neutral' | 'smile', FrameRange[]>;
}
/** d19's reference photo: a labelled neutral frame. */
const D19_REFERENCE_FRAME = 65;

/** `ranges` cut into `parts` runs of (nearly) equal frame counts, in order. */
function splitRanges(ranges: readonly FrameRange[], parts: number): FrameRange[][] {
  const frames = ranges.flatMap(([first, last]) =>
    Array.from({ length: last - first + 1 }, (_, i) => first + i),
  );
  const runs: FrameRange[][] = [];
  for (let p = 0; p < parts; p++) {
    const part = frames.slice(
      Math.round((p * frames.length) / parts),
      Math.round(((p + 1) * frames.length) / parts),
    );
    const run: [number, number][] = [];
    for (const f of part) {
      const previous = run.at(-1);
      if (previous && previous[1] === f - 1) previous[1] = f;
      else run.push([f, f]);
    }
    runs.push(run);
  }
  return runs;
}

/**
 * The genuine clip (looped by the fake camera, which starts wherever the sequence finds it): d19's
 * labelled neutral frames (2.4 s) in three runs of 0.8 s, each followed by the middle 13 frames
 * (0.43 s) of its labelled teeth smile. Any 1 s lead-in then shows under half smile (its median, the
 * baseline, is neutral), and any 4 s window shows at least two whole smiles (one may fall between
 * analysed frames when the server is busy).
 */
function makeLivenessClips(): void {
  mkdirSync(MADE, { recursive: true });
  const source = path.join(sharedDataDir(), 'video', 'clips', 'd19.mp4');
  const labels = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'liveness-labels', 'd19.json'), 'utf8'),
  ) as ClipLabels;
  const [first, last] = labels.actions.smile.at(-1)!;
  const middle = Math.floor((first + last) / 2);
  const smile: FrameRange = [middle - 6, middle + 6];
  expect(smile[0]).toBeGreaterThanOrEqual(first);
  expect(smile[1]).toBeLessThanOrEqual(last);
  const assembled = splitRanges(labels.actions.neutral, 3).flatMap((neutral) => [...neutral, smile]);
  fakeCameraClip(source, CLIPS.smile, assembled, labels.fps);
  fakeCameraClip(source, CLIPS.replay, [], labels.fps);
  expect(labels.actions.neutral.some(([a, b]) => a <= D19_REFERENCE_FRAME && D19_REFERENCE_FRAME <= b)).toBe(
    true,
  );
  videoFrame(source, D19_REFERENCE_FRAME, path.join(MADE, 'd19-reference.jpg'));
}

/** Serves the sample host page (apps/web/examples/host.html) on `address:port`. */
async function hostPageServer(address: string, port: number): Promise<Server> {
  const html = readFileSync(path.join(REPO_ROOT, 'apps', 'web', 'examples', 'host.html'));
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return server;
}

/** Records every `fv-*` event the page's elements fire (they bubble and are composed). */
async function recordWidgetEvents(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const log: { type: string; detail: unknown }[] = [];
    (window as unknown as { fvLog: typeof log }).fvLog = log;
    const types = ['fv-started', 'fv-score', 'fv-verdict', 'fv-state', 'fv-challenge', 'fv-liveness'];
    for (const type of [...types, 'fv-error', 'fv-finished']) {
      document.addEventListener(type, (event) => log.push({ type, detail: (event as CustomEvent).detail }));
    }
  });
}

/** Runs `check`; when it fails, fails with `explain()`'s account appended to its message. */
async function explainedOnFailure(
  check: () => Promise<unknown>,
  explain: () => Promise<string>,
): Promise<void> {
  try {
    await check();
  } catch (error) {
    const account = await explain().catch((e: unknown) => `(no account: ${String(e)})`);
    // Printed too: a retry that passes would otherwise hide the first run's account.
    console.error(`check failed: ${account}`);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${account}`, {
      cause: error,
    });
  }
}

const widgetEvents = (page: Page): Promise<{ type: string; detail: Record<string, unknown> }[]> =>
  page.evaluate(
    () => (window as unknown as { fvLog: { type: string; detail: Record<string, unknown> }[] }).fvLog,
  );

// Each test opens its own page and session, so a test that fails is run once more (`retry: 1`):
// a real browser's camera, ICE and timers on a loaded 2-core machine have failed a landing run once
// in many (an embed that reached no verdict in 60 s, and in none of eight runs since). A failure
// prints its account (`explainedOnFailure`) even when the second run passes; two in a row fail.
describe('web app in headless Chromium (server and browsers in a network namespace)', { retry: 1 }, () => {
  let ns: NetNamespace;
  let server: { url: string; stop: () => Promise<void>; log: () => string };
  const hosts: Server[] = [];
  let allowedHost: string;
  let otherHost: string;
  const browsers = new Map<BrowserKind, ChromiumHandle>();

  const browser = async (kind: BrowserKind): Promise<Browser> => {
    let handle = browsers.get(kind);
    if (!handle) {
      // The host pages too: a frame is a secure context only when its ancestors are.
      handle = await launchChromium({
        ns,
        video: CLIPS[kind],
        secureOrigins: [server.url, allowedHost, otherHost],
      });
      browsers.set(kind, handle);
    }
    return handle.browser;
  };

  const screenshot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    makeLivenessClips();
    // The pages under test are the production build, as `npm start` serves them.
    execFileSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--outDir',
        DIST,
        '--emptyOutDir',
      ],
      { cwd: path.join(REPO_ROOT, 'apps', 'web'), stdio: 'pipe' },
    );
    ns = new NetNamespace();
    server = await startServer(ns, 18481, { WEB_DIST_DIR: DIST });
    allowedHost = `http://${ns.hostAddress}:18482`;
    otherHost = `http://${ns.hostAddress}:18483`;
    hosts.push(await hostPageServer(ns.hostAddress, 18482), await hostPageServer(ns.hostAddress, 18483));
  });

  afterAll(async () => {
    for (const handle of browsers.values()) await handle.close();
    for (const host of hosts) host.close();
    await server?.stop();
    ns?.close();
  });

  /**
   * Opens the demo page (`query`: its session options), enrols a photo (person A's by default) in
   * the widget and starts the camera. With `streamFirstMs`, the camera streams that long (from its
   * first score) before the photo is enrolled, as when someone turns the camera on first: the
   * session's liveness sequence then starts on a settled stream (WebRTC starts at a low bitrate and
   * the server's analysis rate at its first-frame latency), not on its first second.
   */
  const startWidget = async (
    kind: BrowserKind,
    width = 1280,
    prepare?: (page: Page) => Promise<unknown>,
    { query = '', reference = video('person-a_reference.jpg'), streamFirstMs = 0 } = {},
  ): Promise<Page> => {
    const page = await (await browser(kind)).newPage({ viewport: { width, height: 900 } });
    await prepare?.(page);
    await recordWidgetEvents(page);
    await page.goto(`${server.url}/${query}`);
    const widget = page.locator('fv-verify');
    await widget.and(page.locator('[state="enrolling"]')).waitFor({ timeout: 30_000 });
    if (streamFirstMs > 0) {
      await widget.locator('[data-testid="fv-enrol-camera"]').click();
      await expect
        .poll(async () => (await widgetEvents(page)).some((e) => e.type === 'fv-started'), {
          timeout: 30_000,
        })
        .toBe(true);
      await page.waitForTimeout(streamFirstMs);
    }
    await widget.locator('[data-testid="fv-enrol-file"]').setInputFiles(reference);
    await widget.locator('[data-testid="fv-enrol-submit"]').click();
    await widget.locator('[data-testid="fv-enrolled"]').waitFor({ timeout: 30_000 });
    if (streamFirstMs === 0) await widget.locator('[data-testid="fv-start"]').click();
    return page;
  };

  it("widget: person A's photo enrolled, person A on camera → matched; the dashboard shows the session live", async () => {
    const page = await startWidget('a');
    await page.locator('fv-verify[verdict="matched"]').waitFor({ timeout: 60_000 });
    const widget = page.locator('fv-verify');
    expect(await widget.getAttribute('transport')).toBe('webrtc');
    expect(Number(await widget.getAttribute('distance'))).toBeGreaterThan(0);
    await expect.poll(() => widget.locator('[data-testid="fv-verdict"]').textContent()).toMatch(/Matched/);

    // Scores keep coming while it streams (the verdict may settle after only a few).
    await expect
      .poll(async () => (await widgetEvents(page)).filter((e) => e.type === 'fv-score').length)
      .toBeGreaterThan(5);
    const events = await widgetEvents(page);
    const started = events.find((e) => e.type === 'fv-started');
    expect(started?.detail).toMatchObject({ transport: 'webrtc' });
    expect(events.filter((e) => e.type === 'fv-verdict').at(-1)?.detail).toMatchObject({
      verdict: 'matched',
    });
    expect(events.filter((e) => e.type === 'fv-error' && (e.detail as { fatal?: boolean }).fatal)).toEqual(
      [],
    );
    await screenshot(page, 'widget-matched-1280');

    // The operator dashboard, while the session streams: its row appears and its score moves.
    const sessionId = String(started!.detail['sessionId']);
    const ops = await (await browser('a')).newPage({ viewport: { width: 1280, height: 900 } });
    await ops.goto(`${server.url}/ops`);
    const row = ops.locator(`[data-testid="ops-session-row"][data-session-id="${sessionId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => row.locator('[data-testid="ops-session-distance"]').textContent())
      .toMatch(/\d\.\d/);
    await row.click();
    const chart = ops.locator('[data-testid="ops-detail-chart"]');
    await chart.waitFor({ timeout: 10_000 });
    const pointsNow = Number(await chart.getAttribute('data-points'));
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 15_000 })
      .toBeGreaterThan(pointsNow);
    await screenshot(ops, 'ops-dashboard-1280');
    await ops.setViewportSize({ width: 375, height: 800 });
    await screenshot(ops, 'ops-dashboard-375');
    await ops.close();

    await widget.locator('[data-testid="fv-stop"]').click();
    await expect
      .poll(async () => (await widgetEvents(page)).some((e) => e.type === 'fv-finished'))
      .toBe(true);
    await page.close();
  });

  it("widget: person A's photo enrolled, person B on camera → not_matched (phone width)", async () => {
    const page = await startWidget('b', 375);
    await page.locator('fv-verify[verdict="not_matched"]').waitFor({ timeout: 60_000 });
    const events = await widgetEvents(page);
    expect(events.filter((e) => e.type === 'fv-verdict').at(-1)?.detail).toMatchObject({
      verdict: 'not_matched',
    });
    expect(events.some((e) => e.type === 'fv-verdict' && e.detail['verdict'] === 'matched')).toBe(false);
    await screenshot(page, 'widget-not-matched-375');
    await page.close();
  });

  it('widget: when WebRTC cannot connect it falls back to JPEG over the WebSocket and still decides', async () => {
    // The browser may only use relayed (TURN) candidates and is given no TURN server, as on a
    // network that blocks direct media: ICE gathers nothing and fails for real.
    const page = await startWidget('a', 1280, (p) =>
      p.addInitScript(() => {
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
          constructor(config: RTCConfiguration = {}) {
            super({ ...config, iceTransportPolicy: 'relay' });
          }
        };
      }),
    );
    await page.locator('fv-verify[verdict="matched"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('fv-verify').getAttribute('transport')).toBe('jpeg');
    const started = (await widgetEvents(page)).find((e) => e.type === 'fv-started');
    expect(started?.detail).toMatchObject({ transport: 'jpeg' });
    await page.close();
  });

  it('widget: a dropped connection is resumed with the resume token and scoring goes on', async () => {
    // Every stream socket goes through a proxy this test can cut, as a network drop would.
    const cut: (() => Promise<void>)[] = [];
    let sockets = 0;
    const page = await startWidget('a', 1280, (p) =>
      p.routeWebSocket(/\/v1\/sessions\/.*\/stream/, (ws) => {
        sockets++;
        ws.connectToServer();
        cut.push(() => ws.close({ code: 1006, reason: 'network drop' }).catch(() => undefined));
      }),
    );
    await page.locator('fv-verify[verdict="matched"]').waitFor({ timeout: 60_000 });
    const before = (await widgetEvents(page)).filter((e) => e.type === 'fv-score').length;
    await cut.at(-1)!();
    await expect.poll(() => sockets, { timeout: 20_000 }).toBe(2);
    // Scores flow again on the new socket (the same session, resumed), and it decides again.
    await expect
      .poll(async () => (await widgetEvents(page)).filter((e) => e.type === 'fv-score').length, {
        timeout: 30_000,
      })
      .toBeGreaterThan(before + 5);
    await page.locator('fv-verify[verdict="matched"]').waitFor({ timeout: 30_000 });
    const errors = (await widgetEvents(page)).filter((e) => e.type === 'fv-error');
    expect(errors.filter((e) => (e.detail as { fatal?: boolean }).fatal)).toEqual([]);
    await page.close();
  }, 120_000);

  /** A session created server-side, as a tenant's backend would (person A's photo by default). */
  const tenantSession = async (
    allowedOrigin: string,
    { reference = video('person-a_reference.jpg'), fields = {} as Record<string, string> } = {},
  ): Promise<{ sessionId: string; embedPath: string }> => {
    const form = new FormData();
    form.append('reference', new Blob([readFileSync(reference)]), 'ref.jpg');
    form.append('allowedOrigin', allowedOrigin);
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const response = await fetch(`${server.url}/v1/sessions`, { method: 'POST', body: form });
    expect(response.status).toBe(201);
    return (await response.json()) as { sessionId: string; embedPath: string };
  };

  type HostEvent = { type: string; [field: string]: unknown };
  const hostEvents = (page: Page): Promise<HostEvent[]> =>
    page.evaluate(() => (window as unknown as { fvEvents: HostEvent[] }).fvEvents);

  /**
   * What a failing embed check needs to say why: the events the host page accepted, the widget's
   * state inside the frame, the session as the server sees it, and the server's log.
   */
  const embedState = async (host: Page, sessionId: string): Promise<string> => {
    const events = await hostEvents(host).catch((e: unknown) => String(e));
    const frame = host.frames().find((f) => f.url().includes('/embed'));
    const widget = frame
      ? await frame
          .locator('fv-verify')
          .evaluate((el) =>
            Object.fromEntries(
              ['state', 'transport', 'verdict', 'liveness', 'decision'].map((a) => [a, el.getAttribute(a)]),
            ),
          )
          .catch((e: unknown) => String(e))
      : `no frame holds the embed (frames: ${host
          .frames()
          .map((f) => f.url())
          .join(', ')})`;
    const view = await fetch(`${server.url}/v1/sessions/${sessionId}`)
      .then((r) => r.text())
      .catch((e: unknown) => String(e));
    return [
      `host events: ${JSON.stringify(events)}`,
      `widget in the frame: ${JSON.stringify(widget)}`,
      `session: ${view}`,
      `server log (tail): ${server.log().slice(-4000)}`,
    ].join('\n');
  };

  it('embed: a host page on the allowed origin receives the verdict; one on another origin receives nothing', async () => {
    const b = await browser('a');
    const allowed = await tenantSession(allowedHost);
    const host = await b.newPage({ viewport: { width: 1280, height: 900 } });
    await host.goto(`${allowedHost}/?embed=${encodeURIComponent(`${server.url}${allowed.embedPath}`)}`);
    await explainedOnFailure(
      () =>
        expect
          .poll(
            async () => (await hostEvents(host)).some((e) => e.type === 'verdict' && e.verdict === 'matched'),
            { timeout: 60_000 },
          )
          .toBe(true),
      () => embedState(host, allowed.sessionId),
    );
    // Liveness (active by default): the sequence drawn once the face matched, then its first
    // challenge, 1 s later (person A's clip answers none of them; the replay case is below).
    await expect
      .poll(async () => (await hostEvents(host)).find((e) => e.type === 'challenge'), { timeout: 15_000 })
      .toMatchObject({ sessionId: allowed.sessionId, index: 0, count: 3, windowMs: expect.any(Number) });
    const received = await hostEvents(host);
    expect(received[0]).toMatchObject({ type: 'ready', sessionId: allowed.sessionId });
    expect(received.map((e) => e.type)).toContain('started');
    expect(received.find((e) => e.type === 'liveness')).toMatchObject({
      liveness: { mode: 'active', status: 'pending', attempt: 1 },
      decision: 'pending',
    });
    // Nothing secret crosses to the host.
    expect(JSON.stringify(received)).not.toContain(allowed.embedPath.split('token=')[1]!);
    await screenshot(host, 'embed-host-1280');
    // The host's backend reads the result server-side.
    const view = (await (await fetch(`${server.url}/v1/sessions/${allowed.sessionId}`)).json()) as {
      verdict: string;
    };
    expect(view.verdict).toBe('matched');
    await host.close();

    // A page on an origin the session does not name: the browser refuses to frame the embed
    // (CSP frame-ancestors), and nothing is posted to it. Real time: the browser's own clock.
    const other = await tenantSession(allowedHost);
    const intruder = await b.newPage();
    await intruder.goto(`${otherHost}/?embed=${encodeURIComponent(`${server.url}${other.embedPath}`)}`);
    await new Promise((r) => setTimeout(r, 8000));
    expect(await hostEvents(intruder)).toEqual([]);
    // The host page did point its iframe at the embed page...
    const iframe = intruder.locator('iframe#fv-frame');
    expect(await iframe.getAttribute('src')).toBe(`${server.url}${other.embedPath}`);
    // ...and the browser did not show it there: no embed page, no widget in the frame. Chromium puts
    // an error page in its place, which Playwright lists as a child frame in most runs and in some
    // (under load) never does: either way no frame of the page holds the embed.
    const framed = intruder.frames().filter((f) => f.parentFrame() === intruder.mainFrame());
    expect(framed.length).toBeLessThanOrEqual(1);
    for (const frame of framed) {
      expect(frame.url()).not.toContain('/embed');
      expect(await frame.locator('fv-verify').count()).toBe(0);
    }
    // ...so the session was never started, let alone decided.
    const intruderView = (await (await fetch(`${server.url}/v1/sessions/${other.sessionId}`)).json()) as {
      state: string;
      framesAnalysed: number;
    };
    expect(intruderView).toMatchObject({ state: 'created', framesAnalysed: 0 });
    await intruder.close();
  }, 120_000);

  it('liveness, genuine: the person smiles when asked → passed and verified; the dashboard marks the challenge', async () => {
    // One smile challenge (the draw is fixed); the clip answers it: neutral frames, then smiles.
    const page = await startWidget('smile', 1280, undefined, {
      query: '?livenessAction=smile&livenessChallenges=1&livenessRetries=1',
      reference: path.join(MADE, 'd19-reference.jpg'),
      streamFirstMs: 3000,
    });
    const widget = page.locator('fv-verify');
    type Liveness = { status: string; attempt: number; challenges: { reason?: string }[] };
    const lastLiveness = async (): Promise<Liveness | undefined> =>
      (await widgetEvents(page)).filter((e) => e.type === 'fv-liveness').at(-1)?.detail['liveness'] as
        Liveness | undefined;
    /** The sequence `attempt` once decided; on a timeout, the error shows the liveness events. */
    const decided = async (attempt: number, timeout: number): Promise<Liveness> => {
      const end = Date.now() + timeout;
      for (;;) {
        const last = await lastLiveness();
        if (last?.attempt === attempt && last.status !== 'pending') return last;
        if (Date.now() > end) {
          const seen = (await widgetEvents(page)).filter((e) => /liveness|challenge|error/.test(e.type));
          throw new Error(`sequence ${attempt} not decided in ${timeout} ms: ${JSON.stringify(seen)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // The sequence is drawn once the face matches; its challenge's window opens 1 s later. The
    // prompt is taken while it shows (best effort: a smile on the window's first frames may pass it
    // before the page is looked at), then the decision comes within the window (4 s).
    await expect
      .poll(async () => (await widgetEvents(page)).some((e) => e.type === 'fv-challenge'), {
        timeout: 45_000,
      })
      .toBe(true);
    const prompt = widget.locator('[data-testid="fv-challenge"][data-action="smile"]');
    if (await prompt.isVisible()) await screenshot(page, 'liveness-smile-prompt-1280');
    const first = await decided(1, 15_000);
    if (first.status === 'failed') {
      // Not seen in time: on a loaded machine the server analyses fewer frames (it lowers its rate
      // while behind) and may catch a 0.43 s smile on only one. The person tries again, as the
      // session allows (once); the looping clip meets the second sequence elsewhere. Any other
      // reason is a failure of the test.
      expect(first.challenges[0]?.reason, JSON.stringify(first)).toBe('timeout');
      console.warn('liveness, genuine: the first sequence timed out; trying again');
      await widget.locator('[data-testid="fv-liveness-retry"]').click();
      await decided(2, 30_000);
    }
    expect(await lastLiveness()).toMatchObject({ status: 'passed' });
    await page.locator('fv-verify[liveness="passed"][decision="verified"]').waitFor({ timeout: 5_000 });
    await expect.poll(() => widget.locator('[data-testid="fv-decision"]').textContent()).toMatch(/Verified/);
    expect(await widget.locator('[data-testid="fv-liveness-step"]').getAttribute('data-status')).toBe(
      'passed',
    );
    await screenshot(page, 'liveness-verified-1280');

    // The events: the challenge as asked, and the decision.
    const events = await widgetEvents(page);
    const sessionId = String(events.find((e) => e.type === 'fv-started')!.detail['sessionId']);
    expect(events.find((e) => e.type === 'fv-challenge')?.detail).toMatchObject({
      index: 0,
      count: 1,
      action: 'smile',
      windowMs: expect.any(Number),
    });
    expect(events.filter((e) => e.type === 'fv-liveness').at(-1)?.detail).toMatchObject({
      decision: 'verified',
      liveness: { mode: 'active', status: 'passed' },
    });
    // The backend's answer agrees.
    const view = (await (await fetch(`${server.url}/v1/sessions/${sessionId}`)).json()) as {
      decision: string;
      liveness: { status: string };
    };
    expect(view).toMatchObject({ decision: 'verified', liveness: { status: 'passed' } });

    // The dashboard: the session's liveness in the list, and its challenge marked on the timeline.
    const ops = await (await browser('smile')).newPage({ viewport: { width: 1280, height: 1000 } });
    await ops.goto(`${server.url}/ops`);
    const row = ops.locator(`[data-testid="ops-session-row"][data-session-id="${sessionId}"]`);
    await row
      .locator('[data-testid="ops-session-liveness"][data-status="passed"]')
      .waitFor({ timeout: 15_000 });
    expect(await row.locator('[data-testid="ops-session-decision"]').getAttribute('data-decision')).toBe(
      'verified',
    );
    await row.click();
    await ops.locator('[data-testid="ops-detail-chart"][data-marks="1"]').waitFor({ timeout: 10_000 });
    await ops.locator('[data-testid="ops-challenge"][data-status="passed"]').waitFor();
    await screenshot(ops, 'ops-liveness-1280');
    await ops.close();

    // Stopping: fv-finished carries the decision.
    await widget.locator('[data-testid="fv-stop"]').click();
    await expect
      .poll(async () => (await widgetEvents(page)).find((e) => e.type === 'fv-finished')?.detail)
      .toMatchObject({ decision: 'verified', reason: 'stopped' });
    await page.close();
  }, 90_000);

  it('liveness, replay: the clip played as is fails a 3-challenge sequence; the widget offers a retry', async () => {
    const page = await startWidget('replay', 1280, undefined, {
      query: '?livenessChallenges=3&livenessRetries=1',
      reference: path.join(MADE, 'd19-reference.jpg'),
    });
    const widget = page.locator('fv-verify');
    // The first challenge asked (whichever the server drew; the clip answers none on purpose).
    const prompt = widget.locator('[data-testid="fv-challenge"]:not([data-action=""])');
    await prompt.waitFor({ timeout: 45_000 });
    await screenshot(page, 'liveness-prompt-1280');

    // Three challenges of at most 1 s + 4 s each: decided well within 25 s, and not passed.
    await page.locator('fv-verify[liveness="failed"]').waitFor({ timeout: 25_000 });
    expect(await widget.getAttribute('decision')).toBe('not_verified');
    await expect
      .poll(() => widget.locator('[data-testid="fv-decision"]').textContent())
      .toMatch(/Not verified/);
    expect(await widget.locator('[data-testid="fv-liveness-step"][data-status="failed"]').count()).toBe(1);
    const retry = widget.locator('[data-testid="fv-liveness-retry"]');
    await retry.waitFor();
    await screenshot(page, 'liveness-failed-1280');
    await page.setViewportSize({ width: 375, height: 900 });
    await screenshot(page, 'liveness-failed-375');

    const events = await widgetEvents(page);
    const asked = events.find((e) => e.type === 'fv-challenge')!.detail;
    expect(asked).toMatchObject({ index: 0, count: 3, windowMs: expect.any(Number) });
    expect(['blink', 'smile', 'open_mouth', 'turn_left', 'turn_right']).toContain(asked['action']);
    const failed = events.filter((e) => e.type === 'fv-liveness').at(-1)!.detail;
    expect(failed).toMatchObject({ decision: 'not_verified', liveness: { status: 'failed', attempt: 1 } });

    // Try again: the server draws a second sequence (the face still matches).
    await retry.click();
    await expect
      .poll(
        async () =>
          (await widgetEvents(page)).some(
            (e) => e.type === 'fv-liveness' && (e.detail['liveness'] as { attempt: number }).attempt === 2,
          ),
        { timeout: 15_000 },
      )
      .toBe(true);
    expect(await widget.locator('[data-testid="fv-liveness-retry"]').count()).toBe(0);
    await widget.locator('[data-testid="fv-stop"]').click();
    await expect
      .poll(async () => (await widgetEvents(page)).find((e) => e.type === 'fv-finished')?.detail)
      .toMatchObject({ reason: 'stopped' });
    await page.close();
  }, 90_000);

  it('Match page: two photos of one person → "Matched"; two different people → "Not Matched"', async () => {
    const page = await (await browser('a')).newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${server.url}/`);
    const match = page.locator('fv-match');
    const compare = async (first: string, second: string): Promise<string> => {
      await match.locator('[data-testid="match-file-1"]').setInputFiles(first);
      await match.locator('[data-testid="match-file-2"]').setInputFiles(second);
      await match.locator('[data-testid="match-button"]').click();
      const result = match.locator('[data-testid="match-result"]');
      await expect
        .poll(async () => (await result.textContent().catch(() => ''))?.trim(), { timeout: 20_000 })
        .toMatch(/Matched/);
      return (await result.textContent())!.trim();
    };
    expect(await compare(lfwFile('Aaron_Peirsol', 1), lfwFile('Aaron_Peirsol', 2))).toBe('Matched');
    expect(await match.locator('[data-testid="match-distance"]').textContent()).toMatch(/0\.\d{3}/);
    await match.scrollIntoViewIfNeeded();
    await screenshot(page, 'match-same-1280');
    expect(await compare(lfwFile('Aaron_Peirsol', 1), lfwFile('Serena_Williams', 1))).toBe('Not Matched');
    await screenshot(page, 'match-different-1280');
    await page.close();
  });
});
