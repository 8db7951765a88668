import { VerificationError } from '@fv/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHROME_OFFER, FIREFOX_OFFER, wrtcOffers } from '../../../../tests/fuzz/support/sdp-samples.ts';
import { SDP_LIMITS, validateOfferSdp } from './sdp.ts';

/** The refusal's message, or null when the offer passes; anything but BAD_MESSAGE fails the test. */
function refusal(sdp: string): string | null {
  try {
    validateOfferSdp(sdp);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).code).toBe('BAD_MESSAGE');
    return (error as Error).message;
  }
}

const lines = (sdp: string): string[] => sdp.split('\r\n').slice(0, -1);
const join = (ls: string[]): string => `${ls.join('\r\n')}\r\n`;

describe('validateOfferSdp', () => {
  let real: string[];
  beforeAll(async () => {
    real = await wrtcOffers();
  });

  it('passes the video offers libwebrtc makes and realistic Chrome and Firefox offers', () => {
    for (const sdp of [real[0]!, CHROME_OFFER, FIREFOX_OFFER]) expect(refusal(sdp)).toBeNull();
  });

  it('refuses offers that add audio or a data channel: the session takes one camera track', () => {
    for (const sdp of real.slice(1)) expect(refusal(sdp)).toMatch(/only a video section is accepted/);
  });

  it('passes LF line endings and an unterminated last line', () => {
    expect(refusal(CHROME_OFFER.replaceAll('\r\n', '\n'))).toBeNull();
    expect(refusal(CHROME_OFFER.slice(0, -2))).toBeNull();
  });

  it.each([
    ['empty', '', /empty/],
    ['too long', `${CHROME_OFFER}a=x:${'y'.repeat(SDP_LIMITS.maxLength)}\r\n`, /longer than 32768/],
    ['NUL', CHROME_OFFER.replace('s=-', 's=\0'), /U\+0000/],
    ['non-ASCII', CHROME_OFFER.replace('s=-', 's=é'), /U\+00e9/],
    ['tab', CHROME_OFFER.replace('s=-', 's=\t'), /U\+0009/],
    ['CR alone', CHROME_OFFER.replace('s=-\r\n', 's=-\r'), /CR alone/],
    ['not v=0 first', CHROME_OFFER.replace('v=0', 'v=1'), /start with the line v=0/],
    ['blank line', CHROME_OFFER.replace('s=-\r\n', 's=-\r\n\r\n'), /line 4 is empty/],
    ['not x=value', CHROME_OFFER.replace('t=0 0', 'hello'), /line 4 is not of the form/],
    ['upper-case type', CHROME_OFFER.replace('t=0 0', 'T=0 0'), /line 4 is not of the form/],
    ['no o= second', CHROME_OFFER.replace(/o=[^\r]*\r\n/, ''), /second line must be o=/],
    ['bad o=', CHROME_OFFER.replace('IN IP4 127.0.0.1', 'XX'), /o= line is malformed/],
    ['no s= third', CHROME_OFFER.replace('s=-\r\n', ''), /third line must be s=/],
    ['no t=', CHROME_OFFER.replace('t=0 0\r\n', ''), /no t= line before/],
    ['bad t=', CHROME_OFFER.replace('t=0 0', 't=now'), /t= line is malformed/],
    ['v= in a media section', `${CHROME_OFFER}v=0\r\n`, /v= is not allowed in a media section/],
    ['t= in a media section', `${CHROME_OFFER}t=0 0\r\n`, /t= is not allowed in a media section/],
    ['bad c=', CHROME_OFFER.replace('c=IN IP4 0.0.0.0', 'c=IN'), /c= line is malformed/],
    ['bad b=', CHROME_OFFER.replace('a=mid:0', 'b=AS'), /b= line is malformed/],
    ['bad a=', CHROME_OFFER.replace('a=mid:0', 'a=:0'), /a= line is malformed/],
    ['audio instead of video', CHROME_OFFER.replace('m=video', 'm=audio'), /only a video section/],
    ['two videos', `${CHROME_OFFER}m=video 9 UDP/TLS/RTP/SAVPF 96\r\n`, /more than 1 media sections/],
    ['text media', `${CHROME_OFFER}m=text 9 RTP/AVP 98\r\n`, /m= line is malformed/],
    ['port 0 video', CHROME_OFFER.replace('m=video 9', 'm=video 0'), /disabled \(port 0\)/],
    ['port out of range', CHROME_OFFER.replace('m=video 9', 'm=video 70000'), /port 70000 is out of range/],
    ['payload type 128', CHROME_OFFER.replace('SAVPF 96', 'SAVPF 128'), /payload types 0–127/],
    [
      'too many formats',
      CHROME_OFFER.replace('SAVPF 96', `SAVPF${' 96'.repeat(65)}`),
      /more than 64 formats/,
    ],
    ['a huge line', CHROME_OFFER.replace('a=mid:0', `a=mid:${'0'.repeat(3000)}`), /longer than 2048/],
    [
      'too many lines',
      join([...lines(CHROME_OFFER), ...Array<string>(1100).fill('a=x')]),
      /more than 1024 lines/,
    ],
    ['only v=0', 'v=0\r\n', /v=, o= and s=/],
    ['no ICE password', CHROME_OFFER.replace(/a=ice-pwd:[^\r]*\r\n/, ''), /no a=ice-pwd/],
    ['no fingerprint', FIREFOX_OFFER.replace(/a=fingerprint:[^\r]*\r\n/, ''), /no a=fingerprint/],
  ])('refuses %s with BAD_MESSAGE and a reason', (_name, sdp, reason) => {
    expect(refusal(sdp)).toMatch(reason);
  });
});
