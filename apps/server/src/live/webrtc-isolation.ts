import { fork, type ChildProcess } from 'node:child_process';
import { VerificationError, loaderArgs, siblingEntry } from '@fv/core';
import type { IceCandidateMessage, WebRtcIngestOptions } from './webrtc-ingest.ts';

/** What the gateway asks the WebRTC host process. */
export type HostRequest =
  | { t: 'open'; id: number; iceServers: RTCIceServer[] }
  | { t: 'offer'; id: number; rid: number; sdp: string }
  | { t: 'ice'; id: number; rid: number; candidate: IceCandidateMessage | null }
  | { t: 'arm'; id: number; notBefore: number }
  | { t: 'close'; id: number };

/** What the WebRTC host process tells the gateway. */
export type HostEvent =
  | { t: 'ready' }
  | { t: 'candidate'; id: number; candidate: IceCandidateMessage | null }
  | { t: 'frame'; id: number; width: number; height: number; data: Uint8Array; capturedAt: number }
  | { t: 'ended'; id: number; reason: string }
  | { t: 'done'; rid: number; sdp: string }
  | { t: 'failed'; rid: number; message: string };

/** The calls a stream makes on its WebRTC ingest, in process or isolated. */
export interface Ingest {
  handleOffer(sdp: string): Promise<string>;
  handleCandidate(candidate: IceCandidateMessage | null): Promise<void>;
  close(): void;
}

export interface IsolatedIngestOptions extends WebRtcIngestOptions {
  /** How long after one frame the next is wanted (the session's analysis interval). */
  frameIntervalMs: () => number;
}

interface Open {
  options: IsolatedIngestOptions;
}

/**
 * Runs every peer connection in a child process (`webrtc-host.ts`), because @roamhq/wrtc 0.10 can
 * crash natively on unusual but well-formed offers (found by fuzzing). A crash ends the child, not
 * the gateway: its streams are told (`onEnded`; clients fall back to JPEG or reconnect) and the next
 * offer starts a new child. Frames cross over IPC only when the session wants one (one at a time,
 * not before its next due time).
 */
export class IsolatedWebRtc {
  #child: ChildProcess | null = null;
  #nextId = 1;
  #nextRid = 1;
  readonly #open = new Map<number, Open>();
  readonly #pending = new Map<number, { resolve: (sdp: string) => void; reject: (error: Error) => void }>();
  #crashes = 0;
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

  #spawn(): ChildProcess {
    const entry = siblingEntry('webrtc-host', import.meta.url);
    const child = fork(entry, {
      execArgv: loaderArgs(entry),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (event: HostEvent) => this.#onEvent(event));
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

  #onEvent(event: HostEvent): void {
    switch (event.t) {
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
        this.#send({ t: 'arm', id: event.id, notBefore: Date.now() + open.options.frameIntervalMs() * 0.9 });
        return;
      }
      case 'ended':
        this.#open.get(event.id)?.options.onEnded?.(event.reason);
        return;
      case 'done':
      case 'failed': {
        const pending = this.#pending.get(event.rid);
        this.#pending.delete(event.rid);
        if (event.t === 'done') pending?.resolve(event.sdp);
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
    this.#send({ t: 'open', id, iceServers: options.iceServers ?? [] });
    this.#send({ t: 'arm', id, notBefore: 0 });
    let closed = false;
    return {
      handleOffer: (sdp) => this.#request({ t: 'offer', id, rid: this.#nextRid++, sdp }),
      handleCandidate: async (candidate) => {
        if (closed) return;
        await this.#request({ t: 'ice', id, rid: this.#nextRid++, candidate });
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.#open.delete(id);
        this.#send({ t: 'close', id });
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
