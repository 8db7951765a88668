import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus series the server exports, on its own registry (one per app instance). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly activeSessions = new Gauge({
    name: 'fv_active_sessions',
    help: 'Live sessions with an open stream',
    registers: [this.registry],
  });
  readonly retainedPeers = new Gauge({
    name: 'fv_webrtc_retained_peers',
    help: 'Closed WebRTC peer connections kept alive (a native finalizer bug); recycle the process past WEBRTC_RECYCLE_AFTER',
    registers: [this.registry],
  });
  readonly webrtcHostCrashes = new Gauge({
    name: 'fv_webrtc_host_crashes',
    help: 'Times the isolated WebRTC host process died unexpectedly (its streams were told; the gateway went on)',
    registers: [this.registry],
  });
  readonly framesReceived = new Counter({
    name: 'fv_frames_received_total',
    help: 'Frames received from clients',
    registers: [this.registry],
  });
  readonly framesAnalysed = new Counter({
    name: 'fv_frames_analysed_total',
    help: 'Frames run through the pipeline',
    registers: [this.registry],
  });
  readonly framesDropped = new Counter({
    name: 'fv_frames_dropped_total',
    help: 'Frames dropped before analysis, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'fv_embed_batch_size',
    help: 'Faces per model batch',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'fv_stage_seconds',
    help: 'Latency per pipeline stage (detect, embed, end_to_end)',
    labelNames: ['stage'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
    registers: [this.registry],
  });
  readonly rateChanges = new Counter({
    name: 'fv_analysis_rate_changes_total',
    help: 'Sessions lowering (down) or restoring (up) their analysis rate under load',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly livenessSequences = new Counter({
    name: 'fv_liveness_sequences_total',
    help: 'Liveness challenge sequences decided, by outcome (passed, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly queueWaiting = new Gauge({
    name: 'fv_queue_waiting_jobs',
    help: 'Embedding jobs waiting in the BullMQ queue (distributed mode)',
    registers: [this.registry],
  });
  readonly wsClosedForRate = new Counter({
    name: 'fv_ws_closed_for_rate_total',
    help: 'WebSockets closed for sending messages past their budget (MESSAGE_RATE_EXCEEDED), by route (stream, ops)',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly malformedMessages = new Gauge({
    name: 'fv_malformed_messages',
    help: 'Messages from our own processes dropped so far for failing their protocol schema, by source (queue_result: BullMQ results, webrtc_host: the WebRTC host process)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'fv_errors_total',
    help: 'Errors by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor() {
    // The event-loop lag histogram samples on a timer: prom-client's default 10 ms woke an idle
    // server 100 times a second (5 ms of CPU per second, measured: half of what one live session may
    // cost). 50 ms still sees every block longer than that.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 50 });
    // Both routes show from the start, at 0, so a dashboard's rate() has a series before the first close.
    for (const route of ['stream', 'ops']) this.wsClosedForRate.inc({ route }, 0);
  }
}
