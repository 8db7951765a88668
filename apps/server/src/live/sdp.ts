import { VerificationError } from '@fv/core';
import { LIVE_LIMITS } from '@fv/protocol';

/** Bounds of an offer accepted by {@link validateOfferSdp}. */
export const SDP_LIMITS = {
  /** Largest offer, in characters (the protocol's own bound). */
  maxLength: LIVE_LIMITS.maxSdpLength,
  /** Most lines in an offer (a browser's video offer has ~60–150). */
  maxLines: 1024,
  /** Longest line, in characters (the protocol's ICE candidate bound). */
  maxLineLength: 2048,
  /**
   * Media sections (`m=` lines): the session carries one camera track and nothing else. Audio and
   * data channels would only widen what libwebrtc must set up (and tear down) for a stranger.
   */
  maxMediaSections: 1,
  /** Most payload types on one `m=` line. */
  maxFormats: 64,
} as const;

// RFC 8866 §5: session-level lines after `v= o= s=`, and the lines a media section may hold.
const SESSION_TYPES = new Set(['i', 'u', 'e', 'p', 'c', 'b', 't', 'r', 'z', 'k', 'a']);
const MEDIA_TYPES = new Set(['i', 'c', 'b', 'k', 'a']);
const SECURITY = ['ice-ufrag', 'ice-pwd', 'fingerprint'];

const NOT_PRINTABLE = /[^\x20-\x7e\r\n]/;
const LONE_CR = /\r(?!\n)/;
const ORIGIN = /^\S{1,256} \d{1,20} \d{1,20} IN IP[46] \S{1,256}$/;
const TIMING = /^\d{1,20} \d{1,20}$/;
const CONNECTION = /^IN IP[46] \S{1,256}$/;
const BANDWIDTH = /^[A-Za-z0-9-]{1,32}:\d{1,10}$/;
const ATTRIBUTE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}(?::.*)?$/;
const MEDIA = /^(video|audio|application) (\d{1,5})(?:\/\d{1,5})? ([A-Za-z0-9/_.-]{1,64})((?: [^ ]+)+)$/;

function refuse(reason: string): never {
  throw new VerificationError('BAD_MESSAGE', `The offer's SDP is not acceptable: ${reason}.`);
}

/**
 * A strict, cheap check of a client's offer before it reaches libwebrtc: printable ASCII only,
 * bounded size, line count and line length, `type=value` lines in RFC 8866 order (`v=0`, `o=`, `s=`,
 * at least one `t=`), and one to {@link SDP_LIMITS.maxMediaSections} media sections of which exactly
 * one is video, with ICE credentials and a DTLS fingerprint (its own or the session's). Browser offers (Chrome, Safari, Firefox) pass; anything else is refused with a
 * reason, so the native SDP parser only ever sees well-formed text of a known shape.
 *
 * @throws VerificationError `BAD_MESSAGE` naming the first problem found.
 */
export function validateOfferSdp(sdp: string): void {
  if (typeof sdp !== 'string' || sdp.length === 0) refuse('it is empty');
  if (sdp.length > SDP_LIMITS.maxLength) refuse(`it is longer than ${SDP_LIMITS.maxLength} characters`);
  const bad = NOT_PRINTABLE.exec(sdp);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).padStart(4, '0');
    refuse(`it holds a character outside printable ASCII (U+${code}) at offset ${bad.index}`);
  }
  if (LONE_CR.test(sdp)) refuse('a line ends with CR alone (use CRLF or LF)');

  const lines = sdp.split(/\r?\n/);
  // One line terminator after the last line is the norm; an unterminated last line is tolerated.
  if (lines.at(-1) === '') lines.pop();
  if (lines.length > SDP_LIMITS.maxLines) refuse(`it has more than ${SDP_LIMITS.maxLines} lines`);
  if (lines[0] !== 'v=0') refuse('it must start with the line v=0');

  let media: 'session' | 'video' | 'other' = 'session';
  let mediaSections = 0;
  let videoSections = 0;
  let timings = 0;
  // JSEP offers carry ICE credentials and a DTLS fingerprint, at session level or in the section.
  const security = new Set<string>();
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const where = `line ${n + 1}`;
    if (line.length > SDP_LIMITS.maxLineLength) {
      refuse(`${where} is longer than ${SDP_LIMITS.maxLineLength} characters`);
    }
    if (line.length < 3 || line[1] !== '=' || line[0]! < 'a' || line[0]! > 'z') {
      refuse(line.length === 0 ? `${where} is empty` : `${where} is not of the form x=value`);
    }
    const type = line[0]!;
    const value = line.slice(2);
    if (n === 0) continue;
    if (n === 1) {
      if (type !== 'o') refuse('the second line must be o=');
      if (!ORIGIN.test(value)) refuse('the o= line is malformed');
      continue;
    }
    if (n === 2) {
      if (type !== 's') refuse('the third line must be s=');
      continue;
    }
    if (type === 'm') {
      if (timings === 0) refuse('there is no t= line before the first m= line');
      const m = MEDIA.exec(value);
      if (!m) refuse(`${where}: the m= line is malformed`);
      if (m[1] !== 'video') refuse(`${where}: only a video section is accepted (not m=${m[1]})`);
      if (++mediaSections > SDP_LIMITS.maxMediaSections) {
        refuse(`it has more than ${SDP_LIMITS.maxMediaSections} media sections`);
      }
      const port = Number(m[2]);
      if (port > 65535) refuse(`${where}: port ${port} is out of range`);
      const formats = m[4]!.trim().split(' ');
      if (formats.length > SDP_LIMITS.maxFormats) {
        refuse(`${where}: more than ${SDP_LIMITS.maxFormats} formats`);
      }
      if (m[1] === 'video') {
        if (++videoSections > 1) refuse('it has more than one video section');
        if (port === 0) refuse('the video section is disabled (port 0)');
        if (!formats.every((f) => /^\d{1,3}$/.test(f) && Number(f) <= 127)) {
          refuse(`${where}: video formats must be RTP payload types 0–127`);
        }
        media = 'video';
      } else {
        media = 'other';
      }
      continue;
    }
    const allowed = media === 'session' ? SESSION_TYPES : MEDIA_TYPES;
    if (!allowed.has(type)) {
      refuse(
        `${where}: ${type}= is not allowed ${media === 'session' ? 'at session level' : 'in a media section'}`,
      );
    }
    if (type === 't') {
      if (!TIMING.test(value)) refuse(`${where}: the t= line is malformed`);
      timings++;
    } else if (type === 'c' && !CONNECTION.test(value)) {
      refuse(`${where}: the c= line is malformed`);
    } else if (type === 'b' && !BANDWIDTH.test(value)) {
      refuse(`${where}: the b= line is malformed`);
    } else if (type === 'a') {
      if (!ATTRIBUTE.test(value)) refuse(`${where}: the a= line is malformed`);
      const colon = value.indexOf(':');
      const name = colon < 0 ? value : value.slice(0, colon);
      if (media !== 'other' && SECURITY.includes(name)) security.add(name);
    }
  }
  if (lines.length < 3) refuse('it must have v=, o= and s= lines');
  if (timings === 0) refuse('it has no t= line');
  if (videoSections === 0) refuse('it has no video section (m=video)');
  const missing = SECURITY.filter((name) => !security.has(name));
  if (missing.length > 0) refuse(`the video section has no ${missing.map((n) => `a=${n}`).join(', ')}`);
}
