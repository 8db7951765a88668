import type { ChallengeFailure, Decision, LivenessAction, ScoreMessage, Verdict } from '@fv/protocol';
import type { CameraStatus } from '../controllers/camera-controller.ts';
import type { ConnectionController } from '../controllers/connection-controller.ts';
import type { FvVerify } from './fv-verify.ts';

/** What `<fv-verify>` says, in plain words, about verdicts, quality flags and fatal errors. */
export const VERDICT_TEXT: Record<Verdict, { label: string; icon: string }> = {
  pending: { label: 'Checking…', icon: '…' },
  matched: { label: 'Matched', icon: '✓' },
  not_matched: { label: 'Not matched', icon: '✗' },
  no_face: { label: 'No face', icon: '?' },
  multiple_faces: { label: 'More than one face', icon: '!' },
};

export const QUALITY_TEXT: Record<ScoreMessage['quality'][number], string> = {
  too_small: 'Move closer to the camera.',
  too_dark: 'Your face is too dark: add some light in front of you.',
  too_bright: 'Too bright: move away from direct light.',
  blurry: 'The picture is blurry: hold still.',
  off_centre: 'Centre your face in the picture.',
};

export const FATAL_TEXT: Record<string, string> = {
  UNAUTHORIZED: 'This verification link is not valid or was already used.',
  SESSION_EXPIRED: 'This verification session has expired.',
  NOT_FOUND: 'This verification session does not exist.',
  BAD_MESSAGE: 'The widget and the server do not understand each other. Reload the page.',
  RECONNECT_FAILED: 'Could not reach the server. Check your connection and press Start to try again.',
};

/** Sessions whose failure a new Start cannot fix (a new token is needed). */
export const NEEDS_NEW_TOKEN: ReadonlySet<string> = new Set([
  'UNAUTHORIZED',
  'SESSION_EXPIRED',
  'NOT_FOUND',
  'BAD_MESSAGE',
]);

/**
 * The one-line connection/stream status (the `status` part), from the widget's state, its camera
 * and its connection.
 */
export function statusText(
  widget: Pick<FvVerify, 'state' | 'verdict' | 'decision' | 'transport' | 'token' | '_failure'>,
  camera: CameraStatus,
  link: Pick<ConnectionController, 'status' | 'attempt' | 'analysisFps' | 'flowing'>,
): string {
  const transport = widget.transport === 'webrtc' ? 'WebRTC' : 'JPEG frames';
  switch (widget.state) {
    // The details are in the alert below the verdict.
    case 'error':
      if (widget._failure?.code.startsWith('CAMERA_')) return 'The camera is not available.';
      return widget._failure?.code === 'RECONNECT_FAILED' ? 'Disconnected.' : 'The session has ended.';
    case 'finished':
      if (widget.decision !== 'pending') return `Finished. Result: ${DECISION_TEXT[widget.decision].label}.`;
      return widget.verdict === 'pending'
        ? 'Finished.'
        : `Finished. Result: ${VERDICT_TEXT[widget.verdict].label}.`;
    case 'connecting':
      return camera === 'requesting' ? 'Waiting for camera permission…' : 'Connecting to the server…';
    case 'reconnecting':
      return `Connection lost. Reconnecting (attempt ${link.attempt})…`;
    case 'enrolling':
      return camera === 'on'
        ? 'Camera on. Add a reference photo to start checking.'
        : 'Add a reference photo to begin.';
    case 'degraded':
      return `Server busy: lowering frame rate to ${link.analysisFps} fps.`;
    case 'streaming':
      return link.flowing
        ? `Live: streaming over ${transport}${link.analysisFps ? ` at ${link.analysisFps} fps` : ''}.`
        : `Starting video (${widget.transport === 'webrtc' ? 'trying WebRTC' : transport})…`;
    case 'idle':
      if (!widget.token) return 'Waiting for a verification session.';
      return link.status === 'open' ? 'Ready. Press Start to turn on the camera.' : 'Not connected.';
  }
}

/** Each liveness action: the prompt (an instruction) and a short name for the list of steps. */
export const ACTION_TEXT: Record<LivenessAction, { prompt: string; short: string }> = {
  smile: { prompt: 'Smile', short: 'Smile' },
  open_mouth: { prompt: 'Open your mouth', short: 'Open mouth' },
  // The person's own left: in the mirrored preview their face moves towards the screen's left.
  turn_left: { prompt: 'Turn your head to your left', short: 'Turn left' },
  turn_right: { prompt: 'Turn your head to your right', short: 'Turn right' },
  blink: { prompt: 'Blink', short: 'Blink' },
};

/** Why a challenge failed, in plain words. */
export const FAILURE_TEXT: Record<ChallengeFailure, string> = {
  no_face: 'Your face could not be seen. Stay in front of the camera.',
  multiple_faces: 'More than one face was in the picture.',
  identity_lost: 'The face stopped matching the reference photo.',
  timeout: 'The movement was not seen in time.',
  wrong_action: 'A different movement was seen first.',
  not_neutral: 'Look straight at the camera with a neutral face before each step.',
};

export const DECISION_TEXT: Record<Exclude<Decision, 'pending'>, { label: string; icon: string }> = {
  verified: { label: 'Verified', icon: '✓' },
  not_verified: { label: 'Not verified', icon: '✗' },
};

export const NEUTRAL_PROMPT = 'Look at the camera with a neutral face';
