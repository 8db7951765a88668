export { VerificationError, isVerificationError } from './errors.ts';
export {
  decodeFrame,
  decodeGray,
  sniffImageFormat,
  DEFAULT_DECODE_OPTIONS,
  type DecodeOptions,
} from './image/decode.ts';
export { resampleRegion, padImage, roundRect, type GrayImage, type Rect } from './image/gray-image.ts';
export {
  FACE_HEIGHT,
  FACE_WIDTH,
  FACE_PIXELS,
  CROP_MARGIN,
  FALLBACK_BOX_FRACTION,
  faceCropRegion,
  fallbackFaceBox,
  cropFace,
  normalizeCrop,
} from './image/preprocess.ts';
export {
  HaarDetector,
  DEFAULT_HAAR_DETECTOR_OPTIONS,
  defaultCascadePath,
  defaultConfirmCascadePaths,
  liveOpenCvObjects,
  type HaarDetectorOptions,
  type Detection,
} from './detect/haar-detector.ts';
export { alignFace, analyseFrame, extractFace, type AnalysedFrame, type FaceCrop } from './face-analyzer.ts';
export {
  Embedder,
  DEFAULT_EMBEDDER_OPTIONS,
  type EmbedderOptions,
  type ExecutionProvider,
} from './model/embedder.ts';
export { parseManifest, type ModelManifest } from './model/manifest.ts';
export { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME, MODELS_ROOT } from './model/default-model.ts';
export {
  euclideanDistance,
  isMatch,
  similarityFromDistance,
  fitLogisticCalibration,
  type LogisticCalibration,
} from './scoring.ts';
export {
  accuracyAt,
  bestThreshold,
  rocCurve,
  auc,
  equalErrorRate,
  tarAtFar,
  summarize,
  type RocPoint,
  type VerificationMetrics,
  type LabelledDistances,
} from './metrics.ts';
export { FaceVerifier, type FaceVerifierOptions } from './face-verifier.ts';
export { parsePairs, peopleIn, type LfwPair, type LfwPairList } from './lfw/pairs.ts';
export { parseY4m, type Y4mVideo } from './video/y4m.ts';
export {
  DynamicBatcher,
  BatcherError,
  DEFAULT_DYNAMIC_BATCHER_OPTIONS,
  type DynamicBatcherOptions,
  type BatchReport,
} from './batching/dynamic-batcher.ts';
export {
  VerdictTracker,
  DEFAULT_VERDICT_OPTIONS,
  type Verdict,
  type VerdictTrackerOptions,
  type VerdictUpdate,
} from './verdict/verdict-tracker.ts';
export {
  assessQuality,
  cropStatistics,
  DEFAULT_QUALITY_THRESHOLDS,
  type QualityFlag,
  type QualityThresholds,
} from './image/quality.ts';
export {
  FaceTracker,
  DEFAULT_FACE_TRACKER_OPTIONS,
  type FaceTrackerOptions,
  type TrackedDetection,
} from './detect/face-tracker.ts';
export { loaderArgs, nameThisThread, siblingEntry, startWorker } from './worker/worker-entry.ts';
export {
  alignmentTransform,
  applySimilarity,
  boxTransform,
  fitSimilarity,
  meanFaceTemplate,
  similarityScale,
  squareAround,
  templatePoints,
  warpSimilarity,
  type Similarity,
} from './align/similarity.ts';
export {
  FaceAligner,
  LANDMARK_NET_INPUT,
  alignedCropSpec,
  defaultAlignedCrop,
  type AlignedCropSpec,
  type AlignedFace,
} from './align/face-aligner.ts';
export {
  eyeAspectRatio,
  faceFeatures,
  mouthGap,
  mouthGapOf,
  mouthOpening,
  mouthWidth,
  yawProxy,
  type FaceFeatures,
  type Landmarks68,
} from './liveness/face-actions.ts';
export {
  ActionDetector,
  DEFAULT_ACTION_DETECTOR_OPTIONS,
  FACE_ACTIONS,
  baselineOf,
  type ActionDetectorOptions,
  type FaceAction,
  type FeatureBaseline,
  type FramePose,
} from './liveness/action-detector.ts';
export {
  ChallengeJudge,
  DEFAULT_CHALLENGE_JUDGE_OPTIONS,
  type Challenge,
  type ChallengeFailure,
  type ChallengeJudgeOptions,
  type ChallengeOutcome,
  type ChallengeStatus,
  type JudgedFrame,
} from './liveness/challenge-judge.ts';
export { isClipLabels, type ClipLabels } from './liveness/clip-files.ts';
