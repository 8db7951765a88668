// `npm run client -- --server <url> --reference <image> --video <file.y4m> [--fps N] [--json]`
// A command-line verification client (for people and for tests): creates a session with the
// reference photo, streams the Y4M clip's frames over WebRTC in real time (@roamhq/wrtc's
// RTCVideoSource), prints the score events, and finally the server's own verdict.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import wrtc from '@roamhq/wrtc';
import { parseY4m } from '@fv/core';
import { PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '@fv/protocol';
import { WebSocket } from 'ws';

const USAGE = `usage: npm run client -- --server <url> --reference <image> --video <file.y4m> [--fps N] [--loops N] [--json]
  --server     e.g. http://localhost:8080
  --reference  reference photo of the person (JPEG/PNG/WebP)
  --video      YUV4MPEG2 4:2:0 clip, streamed in real time at its own frame rate
  --fps        analysis rate to ask the server for (default: the server's, 10)
  --send-fps   frames sent per second (default 15; the clip's frames are skipped to match, as a
               browser would be asked to capture at 10–15 fps)
  --loops      play the clip this many times (default 1)
  --json       one JSON object per line (score events, then a summary)
The tenant's API key, where the server has tenants, is read from FV_API_KEY (never a flag: flags
end up in shell history and process lists).`;

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        server: { type: 'string' },
        reference: { type: 'string' },
        video: { type: 'string' },
        fps: { type: 'string' },
        'send-fps': { type: 'string' },
        loops: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
})();
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!args.server || !args.reference || !args.video) {
  process.stderr.write(`--server, --reference and --video are required\n\n${USAGE}\n`);
  process.exit(2);
}
const server = args.server.replace(/\/$/, '');
const loops = args.loops ? Number(args.loops) : 1;
const print = (line: string, value: unknown): void => {
  process.stdout.write(args.json ? `${JSON.stringify(value)}\n` : `${line}\n`);
};

// 1. Create the session with the reference photo.
const form = new FormData();
form.append('reference', new Blob([await readFile(args.reference)]), path.basename(args.reference));
const apiKey = process.env['FV_API_KEY'];
const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
const created = await fetch(`${server}/v1/sessions`, { method: 'POST', body: form, headers: auth });
const createdBody = (await created.json()) as {
  sessionId: string;
  token: string;
  error?: { code: string; message: string };
};
if (!created.ok) {
  process.stderr.write(`session refused: ${createdBody.error?.code} ${createdBody.error?.message}\n`);
  process.exit(1);
}
const { sessionId, token } = createdBody;

// 2. Signalling over the session's WebSocket.
const clip = parseY4m(await readFile(args.video));
const socket = new WebSocket(`${server.replace(/^http/, 'ws')}/v1/sessions/${sessionId}/stream`);
const pc = new wrtc.RTCPeerConnection({ iceServers: [] }) as unknown as RTCPeerConnection;
const source = new wrtc.nonstandard.RTCVideoSource();
pc.addTrack(source.createTrack() as never);
const scores: Extract<ServerMessage, { type: 'score' }>[] = [];
/** Frame → score: from the server receiving the frame (`capturedAt`) to this client receiving its score. */
const latencies: number[] = [];
let fatal: string | null = null;
let protocolErrors = 0;

const sendJson = (value: unknown): void => socket.send(JSON.stringify(value));
// The server's candidates can arrive while its answer is still being applied: each waits for the
// answer, and one that is refused is reported, not fatal (others may still connect).
let answerApplied: () => void;
const answered = new Promise<void>((resolve) => (answerApplied = resolve));
pc.onicecandidate = ({ candidate }) =>
  sendJson({
    type: 'ice',
    candidate: candidate
      ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
      : null,
  });

const welcomed = new Promise<void>((resolve, reject) => {
  socket.on('message', (data: Buffer) => {
    let message: ServerMessage;
    try {
      message = parseServerMessage(data.toString('utf8'));
    } catch (error) {
      protocolErrors++;
      process.stderr.write(`protocol error: ${(error as Error).message}\n`);
      return;
    }
    switch (message.type) {
      case 'welcome':
        resolve();
        break;
      case 'answer':
        pc.setRemoteDescription({ type: 'answer', sdp: message.sdp }).then(
          answerApplied,
          (error: unknown) => {
            fatal = 'BAD_ANSWER';
            process.stderr.write(`the server's answer could not be applied: ${(error as Error).message}\n`);
          },
        );
        break;
      case 'ice': {
        const candidate = message.candidate;
        if (candidate)
          answered
            .then(() => pc.addIceCandidate(candidate))
            .catch((error: unknown) =>
              process.stderr.write(`ICE candidate refused: ${(error as Error).message}\n`),
            );
        break;
      }
      case 'score':
        scores.push(message);
        latencies.push(Date.now() - message.capturedAt);
        print(
          `frame ${message.frameId} faces ${message.faceCount} distance ${message.distance?.toFixed(3) ?? '-'} smoothed ${message.smoothedDistance?.toFixed(3) ?? '-'} → ${message.verdict}`,
          message,
        );
        break;
      case 'state':
        if (!args.json)
          print(`state ${message.state}${message.reason ? ` (${message.reason})` : ''}`, message);
        break;
      case 'error':
        protocolErrors++;
        print(`error ${message.code}: ${message.message}`, message);
        if (message.fatal) {
          fatal = message.code;
          reject(new Error(message.code));
        }
        break;
    }
  });
  socket.once('error', reject);
});
await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
sendJson({ type: 'hello', protocol: PROTOCOL_VERSION, token });
await welcomed;
if (args.fps) sendJson({ type: 'config', fps: Number(args.fps) });
const offer = await pc.createOffer();
await pc.setLocalDescription(offer);
sendJson({ type: 'offer', sdp: pc.localDescription?.sdp ?? offer.sdp });

// 3. Wait for the media path, then play the clip in real time (I420 with neutral chroma).
const deadline = Date.now() + 15_000;
while (pc.connectionState !== 'connected') {
  if (Date.now() > deadline || fatal) {
    process.stderr.write(`WebRTC did not connect (state ${pc.connectionState})\n`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 20));
}
const { width, height } = clip;
const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
const i420 = new Uint8Array(width * height + 2 * chroma).fill(128);
const sendFps = Math.min(clip.fps, args['send-fps'] ? Number(args['send-fps']) : 15);
const interval = 1000 / sendFps;
const started = performance.now();
let sent = 0;
for (let loop = 0; loop < loops; loop++) {
  // Real time: clip frame k is shown at k / clip.fps seconds; send the one on screen at each tick.
  for (let t = 0; t < clip.frames.length / clip.fps; t += 1 / sendFps) {
    const frame = clip.frames[Math.min(clip.frames.length - 1, Math.floor(t * clip.fps))]!;
    i420.set(frame.data, 0);
    source.onFrame({ width, height, data: i420 });
    sent++;
    const wait = started + sent * interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
await new Promise((r) => setTimeout(r, 500)); // let the last analysed frames come back

// 4. The server's result is the authority.
const view = (await (await fetch(`${server}/v1/sessions/${sessionId}`, { headers: auth })).json()) as Record<
  string,
  unknown
>;
const percentile = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const summary = {
  type: 'summary',
  sessionId,
  framesSent: sent,
  scoresReceived: scores.length,
  latencyP50Ms: percentile(latencies, 50),
  latencyP95Ms: percentile(latencies, 95),
  protocolErrors,
  lastVerdict: scores.at(-1)?.verdict ?? 'pending',
  serverVerdict: view['verdict'],
  serverFramesAnalysed: view['framesAnalysed'],
};
print(
  `sent ${summary.framesSent} frames, ${summary.scoresReceived} scored, frame→score p50 ${summary.latencyP50Ms} ms p95 ${summary.latencyP95Ms} ms; verdict ${String(summary.serverVerdict)} (server)`,
  summary,
);
sendJson({ type: 'bye' });
socket.close();
pc.close();
process.exit(protocolErrors > 0 ? 1 : 0);
