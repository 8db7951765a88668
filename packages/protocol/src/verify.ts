import { Type, type Static } from '@sinclair/typebox';

export const FaceBoxSchema = Type.Object({
  x: Type.Number(),
  y: Type.Number(),
  width: Type.Number(),
  height: Type.Number(),
});
export type FaceBox = Static<typeof FaceBoxSchema>;

/** What the pipeline found in one image of a pair. */
export const FaceReportSchema = Type.Object({
  /** Number of faces the detector found (an image without a face is refused with `NO_FACE`). */
  count: Type.Integer({ minimum: 0 }),
  /**
   * The face used for the embedding: the one nearest the image centre (distance measured in face
   * widths), which need not be the largest. Null only when no face was found.
   */
  box: Type.Union([FaceBoxSchema, Type.Null()]),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
});
export type FaceReport = Static<typeof FaceReportSchema>;

/** `POST /v1/verify` response: the seed's two-image Match. */
export const VerifyResultSchema = Type.Object({
  distance: Type.Number({ minimum: 0 }),
  threshold: Type.Number({ minimum: 0 }),
  matched: Type.Boolean(),
  similarity: Type.Number({ minimum: 0, maximum: 1 }),
  faces: Type.Object({ a: FaceReportSchema, b: FaceReportSchema }),
  model: Type.String(),
});
export type VerifyResult = Static<typeof VerifyResultSchema>;

/**
 * `POST /v1/verify` body as a multipart form: the two images as files. Documentation only: the
 * route reads the parts itself (a Fastify `body` schema would refuse every upload).
 */
export const VerifyFormSchema = Type.Object({
  a: Type.String({ format: 'binary' }),
  b: Type.String({ format: 'binary' }),
});

/** JSON variant of `POST /v1/verify`: both images base64-encoded. */
export const VerifyJsonBodySchema = Type.Object(
  {
    a: Type.String({ minLength: 1, description: 'base64-encoded image' }),
    b: Type.String({ minLength: 1, description: 'base64-encoded image' }),
  },
  { additionalProperties: false },
);
export type VerifyJsonBody = Static<typeof VerifyJsonBodySchema>;

export const ErrorBodySchema = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
  }),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;
