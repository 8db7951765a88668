/**
 * Bumped on any incompatible change to a wire message (parsers are strict: an unknown message or
 * field fails). 2: the `enrolled` acknowledgement and `thresholdSimilarity` in `welcome`/`state`.
 * 3: active liveness (`challenge`, `liveness`, `liveness_retry`; `liveness` and `decision` in
 * `score`, `liveness` in `welcome`/`state`).
 */
export const PROTOCOL_VERSION = 3;
