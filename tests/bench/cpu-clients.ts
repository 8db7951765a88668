// Child process of bench:cpu: N JPEG-over-WebSocket sessions sending pre-encoded frames in real time
// (they cost the server's cores little, and this process's CPU is not the server's). Prints one JSON
// line `{"ready": N}` once all stream, then, on SIGTERM, `{"done": …}` with the scores seen.
//   tsx tests/bench/cpu-clients.ts <url> <sessions> <send fps> <reference.jpg> <clip.y4m>
import { readFileSync } from 'node:fs';
import { encodeClip, JpegSession, percentile } from '../support/jpeg-load.ts';

const [url, count, sendFps, reference, clip] = process.argv.slice(2);
if (!url || !count || !sendFps || !reference || !clip) {
  console.error('usage: cpu-clients.ts <url> <sessions> <send fps> <reference.jpg> <clip.y4m>');
  process.exit(2);
}
const frames = await encodeClip(clip, Number(sendFps));
const sessions: JpegSession[] = [];
for (let i = 0; i < Number(count); i++) {
  sessions.push(await JpegSession.open({ url, reference: readFileSync(reference), fps: 10 }));
}
for (const s of sessions) s.start(frames, Number(sendFps));
console.log(JSON.stringify({ ready: sessions.length }));

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  const since = Date.now() - 20_000;
  const latencies = sessions.flatMap((s) => s.scores.filter((r) => r.at >= since).map((r) => r.latencyMs));
  const errors = sessions.reduce((n, s) => n + s.errors.length, 0);
  void Promise.all(sessions.map((s) => s.close())).finally(() => {
    console.log(JSON.stringify({ done: true, p95: percentile(latencies, 95), errors }));
    process.exit(0);
  });
});
