// The two file formats the liveness CLIs share: hand labels (tests/fixtures/liveness-labels/<clip>.json)
// and `liveness:record`'s per-frame recordings (<clip>.json), read in one place for `liveness:eval`
// and `liveness:suite`.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Rect } from '../image/gray-image.ts';
import { FACE_ACTIONS, type FaceAction } from './action-detector.ts';
import type { FaceFeatures } from './face-actions.ts';

/** Inclusive frame ranges per action at the labels' own `fps`; `neutral` is the waiting face. */
export interface ClipLabels {
  readonly fps: number;
  readonly actions: Partial<Record<FaceAction | 'neutral', [number, number][]>>;
}

/** One analysed frame of a recording. */
export interface RecordedFrame {
  readonly i: number;
  /** Faces the tracker counts. */
  readonly faces: number;
  /** The subject's box (0.1 px), or null without a face. */
  readonly box: Rect | null;
  readonly features: FaceFeatures | null;
  /** The 68 landmarks (0.1 px), so features can be recomputed without re-running the nets. */
  readonly landmarks: number[] | null;
}

export interface Recording {
  readonly clip: string;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly model: string;
  readonly frames: RecordedFrame[];
}

/** Whether `value` is a label file: a positive fps and, per known action, inclusive integer ranges. */
export function isClipLabels(value: unknown): value is ClipLabels {
  const v = value as ClipLabels;
  if (!(typeof v?.fps === 'number' && v.fps > 0 && typeof v.actions === 'object' && v.actions !== null)) {
    return false;
  }
  return Object.entries(v.actions).every(
    ([k, ranges]) =>
      (k === 'neutral' || (FACE_ACTIONS as readonly string[]).includes(k)) &&
      Array.isArray(ranges) &&
      ranges.every(
        (r) =>
          Array.isArray(r) &&
          r.length === 2 &&
          Number.isInteger(r[0]) &&
          Number.isInteger(r[1]) &&
          r[0] <= r[1],
      ),
  );
}

export interface LabelledRecording {
  /** The clip's name (its label file without `.json`). */
  readonly name: string;
  readonly labels: ClipLabels;
  readonly recording: Recording;
}

/**
 * Every labelled clip in `labelsDir` (sorted by name) with its recording from `recordingsDir`.
 * Throws, naming the clip, when a file is missing, a label file is malformed, or a recording has no
 * frames, no rate, or frames out of order.
 */
export async function readLabelledRecordings(
  labelsDir: string,
  recordingsDir: string,
): Promise<LabelledRecording[]> {
  const files = (await readdir(labelsDir)).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no <clip>.json labels in ${labelsDir}`);
  const clips: LabelledRecording[] = [];
  for (const file of files) {
    const name = file.slice(0, -'.json'.length);
    const labels: unknown = JSON.parse(await readFile(path.join(labelsDir, file), 'utf8'));
    if (!isClipLabels(labels)) {
      throw new Error(`${file}: not {"fps":n,"actions":{"neutral":[[a,b]],…}} with known actions`);
    }
    const recording = JSON.parse(
      await readFile(path.join(recordingsDir, `${name}.json`), 'utf8'),
    ) as Recording;
    if (!(recording.fps > 0 && recording.frames?.length > 0)) throw new Error(`${name}: bad recording`);
    recording.frames.forEach((f, i) => {
      if (f.i !== i) throw new Error(`${name}: recording frame ${i} has i=${f.i}`);
    });
    clips.push({ name, labels, recording });
  }
  return clips;
}
