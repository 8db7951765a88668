import { resampleRegion, type GrayImage, type Rect } from './gray-image.ts';

/** Model input height (rows). */
export const FACE_HEIGHT = 62;
/** Model input width (columns). */
export const FACE_WIDTH = 47;
export const FACE_PIXELS = FACE_HEIGHT * FACE_WIDTH;

/**
 * How the 62×47 crop is cut around a Haar box. The Haar frontal-face box spans roughly brows to
 * mouth and is square; the crop keeps 78% of the box width and the model's 62:47 aspect, moved
 * down by 5% of the box height. These constants were fitted so that on LFW's aligned 250×250 images
 * (median Haar box: centre 125.8,126.6, side 120) the crop lands on the classic LFW face region
 * (rows 70–195, columns 78–172).
 */
export const CROP_MARGIN = {
  widthScale: 0.78,
  centerYShift: 0.05,
} as const;

/** When no face is found, this fraction of the shorter side, centred, stands in for the Haar box. */
export const FALLBACK_BOX_FRACTION = 0.48;

/** The region of the full-resolution image that becomes the model input for a face box. */
export function faceCropRegion(box: Rect): Rect {
  const width = box.width * CROP_MARGIN.widthScale;
  const height = (width * FACE_HEIGHT) / FACE_WIDTH;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2 + box.height * CROP_MARGIN.centerYShift;
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

/** A centred stand-in face box, used when the detector finds nothing. */
export function fallbackFaceBox(image: { width: number; height: number }): Rect {
  const side = Math.min(image.width, image.height) * FALLBACK_BOX_FRACTION;
  return { x: (image.width - side) / 2, y: (image.height - side) / 2, width: side, height: side };
}

/** Cuts the 62×47 grayscale crop (bytes) for a face box; pixels past the edge repeat the edge. */
export function cropFace(image: GrayImage, box: Rect): Uint8Array {
  return resampleRegion(image, faceCropRegion(box), FACE_WIDTH, FACE_HEIGHT);
}

/**
 * Model input from a crop: `x = byte / 255`, row-major 62×47. Training applies exactly this
 * (packages/training), and the manifest records it.
 */
export function normalizeCrop(crop: Uint8Array): Float32Array {
  if (crop.length !== FACE_PIXELS) {
    throw new TypeError(`a face crop has ${FACE_PIXELS} bytes, got ${crop.length}`);
  }
  const out = new Float32Array(FACE_PIXELS);
  for (let i = 0; i < FACE_PIXELS; i++) out[i] = crop[i]! / 255;
  return out;
}
