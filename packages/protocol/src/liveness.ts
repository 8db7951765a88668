import { Type, type Static } from '@sinclair/typebox';

// Active liveness: after enrolment, once the face matches, the server draws a sequence of
// challenges (CSPRNG) and judges each from the frames it analysed. These are the shapes that cross
// the wire about it: the stream's `challenge` and `liveness` messages, the session's result in
// `score`, `state`, `GET /v1/sessions/:id`, the ops feed and the webhook.

/**
 * Whether a session asks for proof of a live person: `active` (challenges, the default) or `off`
 * (continuous matching only). Chosen by the tenant at session creation, never by the browser.
 */
export const LivenessModeSchema = Type.Union([Type.Literal('active'), Type.Literal('off')]);
export type LivenessMode = Static<typeof LivenessModeSchema>;

/**
 * What a challenge asks. Turn directions are the person's own: `turn_left` = they turn towards
 * their left (in the raw, unmirrored camera frame their nose moves towards the image's right).
 */
export const LivenessActionSchema = Type.Union([
  Type.Literal('blink'),
  Type.Literal('smile'),
  Type.Literal('open_mouth'),
  Type.Literal('turn_left'),
  Type.Literal('turn_right'),
]);
export type LivenessAction = Static<typeof LivenessActionSchema>;
export const LIVENESS_ACTIONS: readonly LivenessAction[] = [
  'blink',
  'smile',
  'open_mouth',
  'turn_left',
  'turn_right',
];

/** Why a challenge failed. */
export const ChallengeFailureSchema = Type.Union([
  /** No face (or no landmarks) for longer than a blink of the detector. */
  Type.Literal('no_face'),
  Type.Literal('multiple_faces'),
  /** The face stopped matching the reference during the sequence. */
  Type.Literal('identity_lost'),
  /** The asked action did not come before the deadline. */
  Type.Literal('timeout'),
  /** Another challenge's action came first. */
  Type.Literal('wrong_action'),
  /** No neutral face before the window opened (the baseline each action is judged against). */
  Type.Literal('not_neutral'),
]);
export type ChallengeFailure = Static<typeof ChallengeFailureSchema>;

/** The bounds a tenant may choose within. */
export const LIVENESS_LIMITS = {
  minChallenges: 1,
  maxChallenges: 5,
  /** Sequences one session may run (the first and its retries). */
  maxAttempts: 5,
} as const;

const strict = { additionalProperties: false } as const;

/** One challenge of the sequence and how it went. */
export const ChallengeResultSchema = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    action: LivenessActionSchema,
    status: Type.Union([
      /** Not yet asked. */
      Type.Literal('waiting'),
      /** Asked: its window is open. */
      Type.Literal('active'),
      Type.Literal('passed'),
      Type.Literal('failed'),
    ]),
    reason: Type.Optional(ChallengeFailureSchema),
    /** When its window opened / opens, ms since the epoch (server clock); absent while unscheduled. */
    startsAt: Type.Optional(Type.Number()),
    deadline: Type.Optional(Type.Number()),
    /** When it passed or failed, ms since the epoch. */
    decidedAt: Type.Optional(Type.Number()),
  },
  strict,
);
export type ChallengeResult = Static<typeof ChallengeResultSchema>;

/** Liveness as a whole: `off` for sessions without it; `pending` until the sequence is decided. */
export const LivenessStatusSchema = Type.Union([
  Type.Literal('off'),
  Type.Literal('pending'),
  Type.Literal('passed'),
  Type.Literal('failed'),
]);
export type LivenessStatus = Static<typeof LivenessStatusSchema>;

/**
 * A session's final decision: `verified` only when the face matches the reference **and** liveness
 * passed (or is off); `not_verified` when liveness failed or the face does not match; `pending`
 * until then.
 */
export const DecisionSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('verified'),
  Type.Literal('not_verified'),
]);
export type Decision = Static<typeof DecisionSchema>;

/** A session's liveness: its mode, the current sequence's challenges, and how many were run. */
export const LivenessStateSchema = Type.Object(
  {
    mode: LivenessModeSchema,
    status: LivenessStatusSchema,
    /** The current (or last) sequence; empty before it is drawn. */
    challenges: Type.Array(ChallengeResultSchema, { maxItems: LIVENESS_LIMITS.maxChallenges }),
    /** Sequences drawn so far (1 for the first; each retry adds one). */
    attempt: Type.Integer({ minimum: 0 }),
    /** Sequences this session may still start after a failure. */
    retriesLeft: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type LivenessState = Static<typeof LivenessStateSchema>;

/**
 * Server → client: do `action` now. Sent when its window opens; judged only from frames captured
 * in it. `deadline` is on the server's clock (ms since the epoch); `windowMs` lets a client count
 * down on its own clock.
 */
export const ChallengeSchema = Type.Object(
  {
    type: Type.Literal('challenge'),
    index: Type.Integer({ minimum: 0 }),
    count: Type.Integer({ minimum: 1, maximum: LIVENESS_LIMITS.maxChallenges }),
    action: LivenessActionSchema,
    deadline: Type.Number(),
    windowMs: Type.Integer({ minimum: 1 }),
  },
  strict,
);
export type ChallengeMessage = Static<typeof ChallengeSchema>;

/** Server → client: liveness changed (a sequence was drawn, a challenge passed or failed). */
export const LivenessMessageSchema = Type.Object(
  {
    type: Type.Literal('liveness'),
    liveness: LivenessStateSchema,
    decision: DecisionSchema,
  },
  strict,
);
export type LivenessMessage = Static<typeof LivenessMessageSchema>;

/** Client → server: after a failed sequence, start another (while `retriesLeft` > 0). */
export const LivenessRetrySchema = Type.Object({ type: Type.Literal('liveness_retry') }, strict);

/** The state of a session without liveness. */
export const LIVENESS_OFF: LivenessState = {
  mode: 'off',
  status: 'off',
  challenges: [],
  attempt: 0,
  retriesLeft: 0,
};

/**
 * How a session proves a live person: the tenant's choice at creation within the server's bounds.
 * Kept with the session (shared between gateways in distributed mode).
 */
export const LivenessPolicySchema = Type.Object(
  {
    mode: LivenessModeSchema,
    /** The actions challenges are drawn from. */
    actions: Type.Array(LivenessActionSchema, { minItems: 1, maxItems: 5 }),
    /** Challenges per sequence (≤ the number of actions: each is asked at most once). */
    challenges: Type.Integer({
      minimum: LIVENESS_LIMITS.minChallenges,
      maximum: LIVENESS_LIMITS.maxChallenges,
    }),
    /** Sequences the person may start after a failed one. */
    retries: Type.Integer({ minimum: 0, maximum: LIVENESS_LIMITS.maxAttempts - 1 }),
    /** Each challenge's window, ms. */
    windowMs: Type.Integer({ minimum: 1 }),
    /** The neutral lead-in before each challenge (its baseline), ms. */
    neutralMs: Type.Integer({ minimum: 1 }),
  },
  strict,
);
export type LivenessPolicy = Static<typeof LivenessPolicySchema>;
