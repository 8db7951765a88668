import v8 from 'node:v8';

/**
 * How far each V8 heap of this process (the gateway's and every worker thread's) may grow past its
 * live size before the next full collection, in percent: V8's `--heap-growing-percent`, a
 * process-wide flag that V8 reads whenever it sets a heap's next limit, so it also holds for the
 * threads started after this call. 0 leaves V8's own factor.
 *
 * V8 derives that factor from how fast a heap's thread promotes against how fast it marks. The
 * gateway keeps ~58 MB live (OpenCV.js, the model, the sessions) and promotes little, so V8 set its
 * limit a few MB above the live size: at 16 WebRTC sessions a full collection ran every ~0.5 s and
 * its concurrent marking cost ~1 ms of CPU a frame. A fixed headroom bounds the memory it costs by
 * the live size (measured in docs/benchmarks.md, "Headroom for V8's heaps").
 */
export function applyHeapGrowth(percent: number): void {
  if (!(Number.isInteger(percent) && percent >= 0)) {
    throw new TypeError('the heap growing percent must be an integer ≥ 0');
  }
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
