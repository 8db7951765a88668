import type { EnrolledMessage, EnrolmentSource } from '@fv/protocol';
import { describe, expect, it } from 'vitest';
import { EnrolmentMatcher } from './enrolment-matcher.ts';
import { LiveConnectionError } from './live-connection-error.ts';

const enrolled = (source: EnrolmentSource): EnrolledMessage => ({ type: 'enrolled', source });

describe('EnrolmentMatcher', () => {
  it('the enrolled ack answers the pending request of its source', async () => {
    const matcher = new EnrolmentMatcher();
    const image = matcher.request('image');
    expect(matcher.pending).toBe('image');
    matcher.handleEnrolled(enrolled('image'));
    await expect(image).resolves.toBeUndefined();
    expect(matcher.pending).toBeNull();

    const frame = matcher.request('frame');
    matcher.handleEnrolled(enrolled('frame'));
    await expect(frame).resolves.toBeUndefined();
    // An ack with nothing pending is harmless.
    expect(() => matcher.handleEnrolled(enrolled('frame'))).not.toThrow();
  });

  it('an ack of the other source is a superseded request’s: the pending one waits on', async () => {
    const matcher = new EnrolmentMatcher();
    const frame = matcher.request('frame');
    const image = matcher.request('image');
    await expect(frame).rejects.toMatchObject({ code: 'SUPERSEDED' });
    // The server still took the frame it was asked for first; the photo is not answered by it.
    matcher.handleEnrolled(enrolled('frame'));
    expect(matcher.pending).toBe('image');
    matcher.handleEnrolled(enrolled('image'));
    await expect(image).resolves.toBeUndefined();
  });

  it('an image error code rejects a photo with that code; a frame enrolment waits on', async () => {
    const matcher = new EnrolmentMatcher();
    const image = matcher.request('image');
    matcher.handleError({ code: 'QUEUE_FULL', message: 'busy' });
    expect(matcher.pending).toBe('image');
    matcher.handleError({ code: 'NO_FACE', message: 'no face' });
    await expect(image).rejects.toMatchObject({ code: 'NO_FACE', message: 'no face' });

    const frame = matcher.request('frame');
    matcher.handleError({ code: 'NO_FACE', message: 'no face' });
    expect(matcher.pending).toBe('frame');
    matcher.fail(new LiveConnectionError('DISCONNECTED', 'dropped'));
    await expect(frame).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('a new request supersedes the pending one; fail() with nothing pending is harmless', async () => {
    const matcher = new EnrolmentMatcher();
    const first = matcher.request('image');
    const second = matcher.request('frame');
    await expect(first).rejects.toMatchObject({ code: 'SUPERSEDED' });
    matcher.handleEnrolled(enrolled('frame'));
    await expect(second).resolves.toBeUndefined();
    expect(() => matcher.fail(new LiveConnectionError('CLOSED', 'closed'))).not.toThrow();
  });
});
