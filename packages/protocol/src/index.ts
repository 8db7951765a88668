export { ERROR_CODES, isErrorCode, httpStatusOf, type ErrorCode } from './errors.ts';
export {
  FaceBoxSchema,
  FaceReportSchema,
  VerifyResultSchema,
  VerifyJsonBodySchema,
  ErrorBodySchema,
  type FaceBox,
  type FaceReport,
  type VerifyResult,
  type VerifyJsonBody,
  type ErrorBody,
} from './verify.ts';

/** Bumped on any incompatible change to a wire message. */
export const PROTOCOL_VERSION = 1;
