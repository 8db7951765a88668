// The distillation teacher: face-api's dlib-derived ResNet (150×150 RGB → 128-d)
// and its 68-point landmark net, run on TensorFlow.js's WASM backend. Offline tooling only: the
// server never loads this package.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** Side of the square chip the recognition net takes. */
export const TEACHER_CHIP = 150;
/** Side of the square input the landmark net resizes to. */
export const LANDMARK_INPUT = 112;
export const TEACHER_DIM = 128;
/** LFW's 250×250 images are centred on the face: the median Haar box over all of LFW. */
export const LFW_CENTRE_BOX = { x: 65.8, y: 66.6, width: 120, height: 120 } as const;

export interface TeacherNets {
  /** 128-d descriptors for N RGB chips, row-major `[N,150,150,3]` bytes 0–255. */
  describe(chips: Uint8Array, count: number): Float32Array;
  /**
   * 68 landmarks for N square RGB chips of side `side`, as `[N,68,2]` positions relative to the
   * chip (0–1).
   */
  landmarks(chips: Uint8Array, count: number, side: number): Float32Array;
  readonly backend: string;
}

/** Loads both nets from the package's `model/` folder onto the WASM backend. */
export async function loadTeacher(): Promise<TeacherNets> {
  const pkgDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(`${path.join(wasmDir, 'dist')}/`);
  // face-api's bundled typings of tf omit the engine functions; this is the same tfjs instance.
  const tf = faceapi.tf as typeof faceapi.tf & {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
  };
  await tf.setBackend('wasm');
  await tf.ready();
  const modelDir = path.join(pkgDir, 'model');
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  const run = (
    net: { forwardInput(input: faceapi.NetInput): faceapi.tf.Tensor2D },
    chips: Uint8Array,
    count: number,
    side: number,
  ): Float32Array => {
    const input = tf.tensor4d(chips, [count, side, side, 3], 'int32');
    try {
      // NetInput from a batch tensor: face-api pads to square (a no-op here) and resizes.
      const netInput = new faceapi.NetInput(tf.unstack(input) as faceapi.tf.Tensor3D[]);
      const out = net.forwardInput(netInput);
      const data = out.dataSync() as Float32Array;
      out.dispose();
      return Float32Array.from(data);
    } finally {
      input.dispose();
    }
  };
  return {
    backend: tf.getBackend(),
    describe: (chips, count) =>
      tf.tidy(() => run(faceapi.nets.faceRecognitionNet, chips, count, TEACHER_CHIP)),
    landmarks: (chips, count, side) => tf.tidy(() => run(faceapi.nets.faceLandmark68Net, chips, count, side)),
  };
}
