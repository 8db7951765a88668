// The web app in real headless Chromium (Debian's `chromium`, driven by playwright-core).
//
// Server and browsers run inside a private network namespace (tests/support/netns.ts): Chromium
// gathers no ICE candidates on loopback, so WebRTC needs the namespace's veth address. The fake
// camera plays the shared clips; pages are plain http on that address, which Chromium is told to
// treat as a secure context (cameras are offered to secure contexts only). Third-party host pages
// are served by this process on the host end of the veth pair: another origin, as in production.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumHandle } from './support/browser.ts';
import { NetNamespace } from './support/netns.ts';
import { startServer } from './support/server-process.ts';
import { REPO_ROOT, lfwFile, sharedDataDir } from './support/shared-data.ts';

const OUTPUT = path.join(REPO_ROOT, 'tests', 'output');
const DIST = path.join(OUTPUT, 'web-dist');
const SCREENSHOTS = path.join(OUTPUT, 'screenshots');
const video = (name: string): string => path.join(sharedDataDir(), 'video', name);
const CLIPS = { a: video('person-a_320x240_3s.y4m'), b: video('person-b_320x240_3s.y4m') } as const;
type BrowserKind = keyof typeof CLIPS;

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
    for (const type of ['fv-started', 'fv-score', 'fv-verdict', 'fv-state', 'fv-error', 'fv-finished']) {
      document.addEventListener(type, (event) => log.push({ type, detail: (event as CustomEvent).detail }));
    }
  });
}

const widgetEvents = (page: Page): Promise<{ type: string; detail: Record<string, unknown> }[]> =>
  page.evaluate(
    () => (window as unknown as { fvLog: { type: string; detail: Record<string, unknown> }[] }).fvLog,
  );

describe('web app in headless Chromium (server and browsers in a network namespace)', () => {
  let ns: NetNamespace;
  let server: { url: string; stop: () => Promise<void> };
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

  /** Opens the demo page, enrols person A's photo in the widget and starts the camera. */
  const startWidget = async (
    kind: BrowserKind,
    width = 1280,
    prepare?: (page: Page) => Promise<unknown>,
  ): Promise<Page> => {
    const page = await (await browser(kind)).newPage({ viewport: { width, height: 900 } });
    await prepare?.(page);
    await recordWidgetEvents(page);
    await page.goto(`${server.url}/`);
    const widget = page.locator('fv-verify');
    await widget.and(page.locator('[state="enrolling"]')).waitFor({ timeout: 30_000 });
    await widget.locator('[data-testid="fv-enrol-file"]').setInputFiles(video('person-a_reference.jpg'));
    await widget.locator('[data-testid="fv-enrol-submit"]').click();
    await widget.locator('[data-testid="fv-enrolled"]').waitFor({ timeout: 30_000 });
    await widget.locator('[data-testid="fv-start"]').click();
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

  /** A session for person A created server-side, as a tenant's backend would. */
  const tenantSession = async (allowedOrigin: string): Promise<{ sessionId: string; embedPath: string }> => {
    const form = new FormData();
    form.append('reference', new Blob([readFileSync(video('person-a_reference.jpg'))]), 'ref.jpg');
    form.append('allowedOrigin', allowedOrigin);
    const response = await fetch(`${server.url}/v1/sessions`, { method: 'POST', body: form });
    expect(response.status).toBe(201);
    return (await response.json()) as { sessionId: string; embedPath: string };
  };

  it('embed: a host page on the allowed origin receives the verdict; one on another origin receives nothing', async () => {
    const b = await browser('a');
    const allowed = await tenantSession(allowedHost);
    const host = await b.newPage({ viewport: { width: 1280, height: 900 } });
    await host.goto(`${allowedHost}/?embed=${encodeURIComponent(`${server.url}${allowed.embedPath}`)}`);
    type HostEvent = { type: string; verdict?: string; sessionId?: string };
    const hostEvents = (page: Page): Promise<HostEvent[]> =>
      page.evaluate(() => (window as unknown as { fvEvents: HostEvent[] }).fvEvents);
    await expect
      .poll(
        async () => (await hostEvents(host)).some((e) => e.type === 'verdict' && e.verdict === 'matched'),
        {
          timeout: 60_000,
        },
      )
      .toBe(true);
    const received = await hostEvents(host);
    expect(received[0]).toMatchObject({ type: 'ready', sessionId: allowed.sessionId });
    expect(received.map((e) => e.type)).toContain('started');
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
    // ...and the browser did not show it there (Chromium shows an error page in its place): no embed
    // page, no widget in the frame...
    const framed = intruder.frames().filter((f) => f.parentFrame() === intruder.mainFrame());
    expect(framed).toHaveLength(1);
    expect(framed[0]!.url()).not.toContain('/embed');
    expect(await framed[0]!.locator('fv-verify').count()).toBe(0);
    // ...so the session was never started, let alone decided.
    const intruderView = (await (await fetch(`${server.url}/v1/sessions/${other.sessionId}`)).json()) as {
      state: string;
      framesAnalysed: number;
    };
    expect(intruderView).toMatchObject({ state: 'created', framesAnalysed: 0 });
    await intruder.close();
  }, 120_000);

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
