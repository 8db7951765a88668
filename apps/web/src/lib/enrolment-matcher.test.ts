import type { StateMessage } from '@fv/protocol';
import { describe, expect, it } from 'vitest';
import { EnrolmentMatcher } from './enrolment-matcher.ts';
import { LiveConnectionError } from './live-connection-error.ts';

const state = (value: StateMessage['state']): StateMessage =>
  ({ type: 'state', state: value, analysisFps: 10 }) as StateMessage;

describe('EnrolmentMatcher', () => {
  it('awaiting_media answers the pending request, whatever its source', async () => {
    const matcher = new EnrolmentMatcher();
    const image = matcher.request('image');
    expect(matcher.pending).toBe('image');
    matcher.handleState(state('awaiting_enrolment'));
    expect(matcher.pending).toBe('image');
    matcher.handleState(state('awaiting_media'));
    await expect(image).resolves.toBeUndefined();
    expect(matcher.pending).toBeNull();

    const frame = matcher.request('frame');
    matcher.handleState(state('awaiting_media'));
    await expect(frame).resolves.toBeUndefined();
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
    matcher.handleState(state('awaiting_media'));
    await expect(second).resolves.toBeUndefined();
    expect(() => matcher.fail(new LiveConnectionError('CLOSED', 'closed'))).not.toThrow();
  });
});
