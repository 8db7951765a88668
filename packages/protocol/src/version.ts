/** Bumped on any incompatible change to a wire message. */
export const PROTOCOL_VERSION = 1;
