import { fork, type ChildProcess } from 'node:child_process';
import { VerificationError, loaderArgs, siblingEntry } from '@fv/core';
import { parseHostEvent, type HostEvent, type HostRequest } from '@fv/protocol';
import type { IceCandidateMessage, WebRtcIngestOptions } from './webrtc-ingest.ts';

/** The calls a stream makes on its WebRTC ingest, in process or isolated. */
export interface Ingest {
  handleOffer(sdp: string): Promise<string>;
  handleCandidate(candidate: IceCandidateMessage | null): Promise<void>;
  close(): void;
}

export interface IsolatedIngestOptions extends WebRtcIngestOptions {
  /**
   * The earliest capture time the next frame is wanted for, asked after each frame the host sends
   * (the session's `FrameGate.notBefore()`): the host sends none before it.
   */
  notBefore: () => number;
}

interface Open {
  options: IsolatedIngestOptions;
}

/**
 * Runs every peer connection in a child process (`webrtc-host.ts`), because @roamhq/wrtc 0.10 can
 * crash natively on unusual but well-formed offers (found by fuzzing). A crash ends the child, not
 * the gateway: its streams are told (`onEnded`; clients fall back to JPEG or reconnect) and the next
 * offer starts a new child. Frames cross over IPC only when the session wants one (one at a time,
 * not before its next due time). The child reads untrusted SDP with native code, so none of its
 * messages is trusted: each is parsed (`parseHostEvent`, @fv/protocol); a malformed one is counted
 * and dropped, and fails the request it names, if any.
 */
export class IsolatedWebRtc {
  #child: ChildProcess | null = null;
  #nextId = 1;
  #nextRid = 1;
  readonly #open = new Map<number, Open>();
  readonly #pending = new Map<number, { resolve: (sdp: string) => void; reject: (error: Error) => void }>();
  #crashes = 0;
  #malformed = 0;
  #closed = false;
  /** Peers the current host has made: it keeps every closed one (see webrtc-ingest.ts). */
  #served = 0;
  readonly #recycleAfter: number;

  /** @param recycleAfter peers one host may make before it is replaced once idle. */
  constructor(recycleAfter = 20_000) {
    if (!(recycleAfter >= 1)) throw new TypeError('recycleAfter must be at least 1');
    this.#recycleAfter = recycleAfter;
  }

  /** Peers the current host process has made (and keeps, closed, until it is replaced). */
  get served(): number {
    return this.#served;
  }

  /** The host process's id (null when none runs). */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Host processes that died unexpectedly so far. */
  get crashes(): number {
    return this.#crashes;
  }

  /** Messages from host processes that failed to parse, so far (dropped). */
  get malformedEvents(): number {
    return this.#malformed;
  }

  #spawn(): ChildProcess {
    const entry = siblingEntry('webrtc-host', import.meta.url);
    const child = fork(entry, {
      execArgv: loaderArgs(entry),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (raw: unknown) => this.#onMessage(raw));
    // A send racing the host's death (EPIPE): the exit handler below tells the streams.
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = null;
      this.#served = 0;
      if (!this.#closed) this.#crashes++;
      const reason = `WebRTC host ended (${signal ?? `code ${code}`}); send JPEG frames or reconnect`;
      for (const { reject } of this.#pending.values())
        reject(new VerificationError('WEBRTC_UNAVAILABLE', reason));
      this.#pending.clear();
      for (const { options } of this.#open.values()) options.onEnded?.(reason);
      this.#open.clear();
    });
    return child;
  }

  #send(request: HostRequest): void {
    if (this.#child?.connected) this.#child.send(request, (error) => void error);
  }

  #onMessage(raw: unknown): void {
    let event: HostEvent;
    try {
      event = parseHostEvent(raw);
    } catch (error) {
      this.#malformed++;
      // A request whose answer is lost this way fails now rather than waiting for the host to end.
      const rid = typeof raw === 'object' && raw !== null ? (raw as { rid?: unknown }).rid : undefined;
      const pending = typeof rid === 'number' ? this.#pending.get(rid) : undefined;
      if (pending) {
        this.#pending.delete(rid as number);
        pending.reject(new VerificationError('BAD_MESSAGE', (error as Error).message));
      }
      return;
    }
    this.#onEvent(event);
  }

  #onEvent(event: HostEvent): void {
    switch (event.type) {
      case 'ready':
        return;
      case 'candidate':
        this.#open.get(event.id)?.options.onCandidate(event.candidate);
        return;
      case 'frame': {
        const open = this.#open.get(event.id);
        if (!open) return;
        if (open.options.wantsFrame()) {
          open.options.onFrame(
            { width: event.width, height: event.height, data: event.data },
            event.capturedAt,
          );
        }
        this.#send({
          type: 'arm',
          id: event.id,
          notBefore: open.options.notBefore(),
        });
        return;
      }
      case 'ended':
        this.#open.get(event.id)?.options.onEnded?.(event.reason);
        return;
      case 'done':
      case 'failed': {
        const pending = this.#pending.get(event.rid);
        this.#pending.delete(event.rid);
        if (event.type === 'done') pending?.resolve(event.sdp);
        else pending?.reject(new VerificationError('BAD_MESSAGE', event.message));
        return;
      }
    }
  }

  #request(request: HostRequest & { rid: number }): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#pending.set(request.rid, { resolve, reject });
      this.#send(request);
    });
  }

  /** A peer connection in the host process for one stream. */
  create(options: IsolatedIngestOptions): Ingest {
    if (this.#closed) throw new VerificationError('WEBRTC_UNAVAILABLE', 'The server is shutting down.');
    this.#child ??= this.#spawn();
    this.#served++;
    const id = this.#nextId++;
    this.#open.set(id, { options });
    this.#send({ type: 'open', id, iceServers: options.iceServers ?? [] });
    this.#send({ type: 'arm', id, notBefore: 0 });
    let closed = false;
    return {
      handleOffer: (sdp) => this.#request({ type: 'offer', id, rid: this.#nextRid++, sdp }),
      handleCandidate: async (candidate) => {
        if (closed) return;
        await this.#request({ type: 'ice', id, rid: this.#nextRid++, candidate });
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.#open.delete(id);
        this.#send({ type: 'close', id });
        // An idle host past its peer budget is replaced: the next stream starts a fresh one.
        if (this.#open.size === 0 && this.#served >= this.#recycleAfter) this.#retire();
      },
    };
  }

  #retire(): void {
    const child = this.#child;
    this.#child = null;
    this.#served = 0;
    child?.disconnect();
  }

  /** Ends the host process (it leaves through process.exit: no wrtc finalizers run). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
