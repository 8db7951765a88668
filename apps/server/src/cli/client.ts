// `npm run client -- --server <url> --reference <image> --video <file.y4m> [--fps N] [--json]`
// A command-line verification client (for people and for tests): creates a session with the
// reference photo, streams the Y4M clip's frames over WebRTC in real time (@roamhq/wrtc's
// RTCVideoSource), prints the score events, and finally the server's own verdict and decision.
// With --liveness-script it answers the server's liveness challenges as a cooperative person would
// (labelled frames of the asked action, see liveness-script.ts); without, it replays the clip
// unchanged whatever is asked.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import wrtc from '@roamhq/wrtc';
import { parseY4m, type Y4mVideo } from '@fv/core';
import {
  LIVENESS_ACTIONS,
  LIVENESS_LIMITS,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ChallengeResult,
  type LivenessState,
  type ServerMessage,
} from '@fv/protocol';
import { WebSocket } from 'ws';
import { ScriptPlayer, parseLivenessScript, type LivenessScript } from './liveness-script.ts';

const USAGE = `usage: npm run client -- --server <url> --reference <image> --video <file.y4m> [--fps N] [--loops N] [--json]
         [--liveness off|active] [--liveness-action <a>]… [--liveness-challenges N] [--liveness-retries N]
         [--liveness-script <labels.json>] [--max-seconds N]
  --server     e.g. http://localhost:8080
  --reference  reference photo of the person (JPEG/PNG/WebP)
  --video      YUV4MPEG2 4:2:0 clip, streamed in real time at its own frame rate
  --fps        analysis rate to ask the server for (default: the server's, 10)
  --send-fps   frames sent per second (default: the rate the server analyses, from its welcome,
               as the widget caps its sender; the clip's frames are skipped to match)
  --loops      play the clip this many times (default 1)
  --json       one JSON object per line (score events, then a summary)
Liveness (the session's settings; the server's defaults where not given):
  --liveness off|active      whether the session asks for challenges (default active)
  --liveness-action <a>      an action challenges are drawn from; repeat it or give a comma list
                             (${LIVENESS_ACTIONS.join(', ')};
                             the server refuses one it does not offer)
  --liveness-challenges N    challenges per sequence (${LIVENESS_LIMITS.minChallenges}–${LIVENESS_LIMITS.maxChallenges}, at most the number of actions)
  --liveness-retries N       sequences the person may start again after a failure (0–${LIVENESS_LIMITS.maxAttempts - 1})
  --liveness-script <file>   answer challenges as a cooperative person: a label file
                             ({"fps":n,"actions":{"neutral":[[first,last]],"smile":[…],…}}, frame
                             indexes of --video) — neutral frames on a loop, and when a challenge
                             comes a labelled range of its action in real time (none labelled: left
                             unanswered). Streams until liveness is decided. Without it the clip
                             plays unchanged whatever is asked (a replay).
  --max-seconds N            with --liveness-script, stop after N s if still undecided (default 60)
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
        liveness: { type: 'string' },
        'liveness-action': { type: 'string', multiple: true },
        'liveness-challenges': { type: 'string' },
        'liveness-retries': { type: 'string' },
        'liveness-script': { type: 'string' },
        'max-seconds': { type: 'string' },
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
function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (!args.server || !args.reference || !args.video)
  usageError('--server, --reference and --video are required');
/** An integer option within [min, max], or undefined when not given. */
const integerOption = (name: string, min: number, max: number): number | undefined => {
  const raw = args[name as keyof typeof args] as string | undefined;
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!(raw.trim() !== '' && Number.isInteger(value) && value >= min && value <= max)) {
    usageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
};
const server = args.server.replace(/\/$/, '');
const loops = integerOption('loops', 1, 1000) ?? 1;
const maxSeconds = integerOption('max-seconds', 1, 3600) ?? 60;
const liveness = args.liveness;
if (liveness !== undefined && liveness !== 'off' && liveness !== 'active') {
  usageError(`--liveness must be off or active (got ${JSON.stringify(liveness)})`);
}
const livenessActions = [
  ...new Set((args['liveness-action'] ?? []).flatMap((a) => a.split(',')).map((a) => a.trim())),
];
for (const action of livenessActions) {
  if (!(LIVENESS_ACTIONS as readonly string[]).includes(action)) {
    usageError(`--liveness-action ${JSON.stringify(action)} is not one of ${LIVENESS_ACTIONS.join(', ')}`);
  }
}
const livenessChallenges = integerOption(
  'liveness-challenges',
  LIVENESS_LIMITS.minChallenges,
  LIVENESS_LIMITS.maxChallenges,
);
if (
  livenessChallenges !== undefined &&
  livenessActions.length > 0 &&
  livenessChallenges > livenessActions.length
) {
  usageError(
    `--liveness-challenges ${livenessChallenges} is more than the ${livenessActions.length} --liveness-action given (each challenge asks a different action)`,
  );
}
const livenessRetries = integerOption('liveness-retries', 0, LIVENESS_LIMITS.maxAttempts - 1);
if (
  liveness === 'off' &&
  (livenessActions.length > 0 ||
    livenessChallenges !== undefined ||
    livenessRetries !== undefined ||
    args['liveness-script'])
) {
  usageError('--liveness off asks no challenges: leave out the other --liveness-* options');
}
let clip: Y4mVideo;
try {
  clip = parseY4m(await readFile(args.video));
} catch (error) {
  usageError(`--video ${args.video}: ${(error as Error).message}`);
}
let script: LivenessScript | null = null;
if (args['liveness-script']) {
  const file = args['liveness-script'];
  try {
    script = parseLivenessScript(await readFile(file, 'utf8'), {
      fps: clip.fps,
      frameCount: clip.frames.length,
    });
  } catch (error) {
    usageError(`--liveness-script ${file}: ${(error as Error).message}`);
  }
}
const print = (line: string, value: unknown): void => {
  process.stdout.write(args.json ? `${JSON.stringify(value)}\n` : `${line}\n`);
};

// 1. Create the session with the reference photo.
const form = new FormData();
form.append('reference', new Blob([await readFile(args.reference)]), path.basename(args.reference));
if (liveness) form.append('liveness', liveness);
for (const action of livenessActions) form.append('livenessAction', action);
if (livenessChallenges !== undefined) form.append('livenessChallenges', String(livenessChallenges));
if (livenessRetries !== undefined) form.append('livenessRetries', String(livenessRetries));
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
const socket = new WebSocket(`${server.replace(/^http/, 'ws')}/v1/sessions/${sessionId}/stream`);
const pc = new wrtc.RTCPeerConnection({ iceServers: [] }) as unknown as RTCPeerConnection;
const source = new wrtc.nonstandard.RTCVideoSource();
pc.addTrack(source.createTrack() as never);
const scores: Extract<ServerMessage, { type: 'score' }>[] = [];
/** Frame → score: from the server receiving the frame (`capturedAt`) to this client receiving its score. */
const latencies: number[] = [];
let fatal: string | null = null;
let protocolErrors = 0;
/** The session's liveness as the server last reported it. */
let livenessState = null as LivenessState | null;
/** Playback clock (ms since the first frame was sent); the script player answers on it. */
let started = Number.NaN;
const player = script ? new ScriptPlayer(script, () => performance.now() - started) : null;
const livenessDecided = (): boolean =>
  livenessState?.status === 'passed' || livenessState?.status === 'failed';
const describeChallenges = (challenges: readonly ChallengeResult[]): string =>
  challenges.map((c) => `${c.action} ${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ');

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

/** The rate the server analyses (its welcome says): frames sent beyond it are decoded for nothing. */
let analysisFps = 10;
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
        livenessState = message.liveness;
        analysisFps = message.analysis.fps;
        resolve();
        break;
      case 'challenge': {
        // A replay (no script) ignores what is asked; the script answers with labelled frames.
        const answer = player?.challenge(message.action);
        const doing =
          answer === undefined
            ? 'the clip plays on unchanged (replay)'
            : answer.range
              ? `playing its frames ${answer.range[0]}–${answer.range[1]}`
              : `no labelled ${message.action}: left unanswered`;
        print(
          `challenge ${message.index + 1}/${message.count} ${message.action} (${message.windowMs / 1000} s): ${doing}`,
          { ...message, answer: answer === undefined ? 'replay' : answer.range },
        );
        break;
      }
      case 'liveness':
        livenessState = message.liveness;
        print(
          `liveness ${message.liveness.status} (attempt ${message.liveness.attempt}): ${describeChallenges(message.liveness.challenges)}; decision ${message.decision}`,
          message,
        );
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
          `frame ${message.frameId} faces ${message.faceCount} distance ${message.distance?.toFixed(3) ?? '-'} smoothed ${message.smoothedDistance?.toFixed(3) ?? '-'} → ${message.verdict} · liveness ${message.liveness} · ${message.decision}`,
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
const sendFps = Math.min(
  clip.fps,
  args['send-fps'] ? Number(args['send-fps']) : args.fps ? Number(args.fps) : analysisFps,
);
const interval = 1000 / sendFps;
started = performance.now();
let sent = 0;
const send = async (index: number): Promise<void> => {
  i420.set(clip.frames[Math.min(clip.frames.length - 1, index)]!.data, 0);
  source.onFrame({ width, height, data: i420 });
  sent++;
  const wait = started + sent * interval - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
};
if (player && livenessState?.mode !== 'off') {
  // A cooperative person: the script decides the frame on screen at each tick, until liveness is
  // decided (or the time runs out, or the server ends the session).
  const until = started + maxSeconds * 1000;
  while (!livenessDecided() && !fatal && socket.readyState === WebSocket.OPEN && performance.now() < until) {
    await send(player.frame());
  }
} else {
  if (player) process.stderr.write('the session has no liveness: playing the clip unchanged\n');
  for (let loop = 0; loop < loops; loop++) {
    // Real time: clip frame k is shown at k / clip.fps seconds; send the one on screen at each tick.
    for (let t = 0; t < clip.frames.length / clip.fps; t += 1 / sendFps) await send(Math.floor(t * clip.fps));
  }
}
await new Promise((r) => setTimeout(r, 500)); // let the last analysed frames come back

// 4. The server's result is the authority.
const view = (await (await fetch(`${server}/v1/sessions/${sessionId}`, { headers: auth })).json()) as Record<
  string,
  unknown
>;
const serverLiveness = (view['liveness'] as LivenessState | undefined) ?? livenessState;
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
  liveness: serverLiveness?.status ?? scores.at(-1)?.liveness ?? null,
  decision: view['decision'] ?? scores.at(-1)?.decision ?? null,
  livenessAttempt: serverLiveness?.attempt ?? null,
  challenges: (serverLiveness?.challenges ?? []).map(({ action, status, reason }) => ({
    action,
    status,
    reason,
  })),
};
print(
  `sent ${summary.framesSent} frames, ${summary.scoresReceived} scored, frame→score p50 ${summary.latencyP50Ms} ms p95 ${summary.latencyP95Ms} ms; verdict ${String(summary.serverVerdict)} (server); liveness ${summary.liveness}${serverLiveness?.challenges.length ? ` [${describeChallenges(serverLiveness.challenges)}]` : ''}; decision ${String(summary.decision)}`,
  summary,
);
sendJson({ type: 'bye' });
socket.close();
pc.close();
process.exit(protocolErrors > 0 ? 1 : 0);
