import type {
  ChallengeFailure,
  Decision,
  LivenessAction,
  LivenessStatus,
  OpsSessionState,
  OpsTransport,
  Verdict,
} from '@fv/protocol';

/** Plain words for each verdict (the widget uses the same wording). */
export const VERDICT_WORDS: Record<Verdict, string> = {
  pending: 'Checking…',
  matched: 'Matched',
  not_matched: 'Not matched',
  no_face: 'No face',
  multiple_faces: 'More than one face',
};

export const LIVENESS_WORDS: Record<LivenessStatus, string> = {
  off: 'Off',
  pending: 'In progress',
  passed: 'Passed',
  failed: 'Failed',
};

export const DECISION_WORDS: Record<Decision, string> = {
  pending: 'Pending',
  verified: 'Verified',
  not_verified: 'Not verified',
};

/** Short names of the liveness actions (turns are the person's own left and right). */
export const ACTION_WORDS: Record<LivenessAction, string> = {
  blink: 'Blink',
  smile: 'Smile',
  open_mouth: 'Open mouth',
  turn_left: 'Turn left',
  turn_right: 'Turn right',
};

export const FAILURE_WORDS: Record<ChallengeFailure, string> = {
  no_face: 'no face',
  multiple_faces: 'more than one face',
  identity_lost: 'face stopped matching',
  timeout: 'not done in time',
  wrong_action: 'another action first',
  not_neutral: 'no neutral face before',
};

export const STATE_WORDS: Record<OpsSessionState, string> = {
  waiting: 'Waiting to start',
  awaiting_enrolment: 'Needs a reference',
  awaiting_media: 'Waiting for video',
  streaming: 'Streaming',
  degraded: 'Slowed down',
  disconnected: 'Disconnected',
};

export const TRANSPORT_WORDS: Record<Exclude<OpsTransport, null>, string> = {
  webrtc: 'WebRTC',
  jpeg: 'JPEG',
};

export const formatDistance = (value: number | null): string => (value === null ? '—' : value.toFixed(3));

/** `42 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatAge(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export const formatMs = (value: number | null): string => (value === null ? '—' : `${Math.round(value)} ms`);
