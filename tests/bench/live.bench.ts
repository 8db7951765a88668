// `npm run bench:live`: the live path measured with the CLI client over real WebRTC, server and
// clients inside a private network namespace on this machine: for 1, 2, 4, … concurrent sessions at
// 10 analysis fps, frame→score p50/p95 (medians over sessions), frames scored, starved sessions, and
// where the server's time goes per stage (from /metrics). Never run in CI.
import { NetNamespace } from '../support/netns.ts';
import { startServer } from '../support/server-process.ts';
import { measureLevels, printLevels } from './live-harness.ts';

const LEVELS = (process.env['BENCH_SESSIONS'] ?? '1,2,4,8,12,16,24,32,40').split(',').map(Number);
const LOOPS = Number(process.env['BENCH_LOOPS'] ?? 3);

const ns = new NetNamespace(String(process.pid));
const server = await startServer(ns, 18282, {});
try {
  printLevels(
    `live bench (embedded): server + N CLI clients, WebRTC VP8 320×240 sent at the analysed 10 fps, ${LOOPS * 3} s per session`,
    await measureLevels(ns, server.url, LEVELS, LOOPS),
  );
} finally {
  await server.stop();
  ns.close();
}
