/**
 * Bumped on any incompatible change to a wire message (parsers are strict: an unknown message or
 * field fails). 2: the `enrolled` acknowledgement and `thresholdSimilarity` in `welcome`/`state`.
 */
export const PROTOCOL_VERSION = 2;
