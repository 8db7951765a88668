import { ERROR_CODES, type ErrorCode } from '@fv/protocol';

/** A failure with a stable code from the protocol's error table. */
export class VerificationError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string = ERROR_CODES[code].message, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VerificationError';
    this.code = code;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  static emptyImage(): VerificationError {
    return new VerificationError('EMPTY_IMAGE');
  }

  static unsupportedImage(detail?: string): VerificationError {
    return new VerificationError(
      'UNSUPPORTED_IMAGE',
      detail ? `${ERROR_CODES.UNSUPPORTED_IMAGE.message} ${detail}` : undefined,
    );
  }

  static corruptImage(cause?: unknown): VerificationError {
    return new VerificationError('CORRUPT_IMAGE', undefined, { cause });
  }

  static imageTooLarge(bytes: number, maxBytes: number): VerificationError {
    return new VerificationError(
      'IMAGE_TOO_LARGE',
      `The image is ${bytes} bytes; the limit is ${maxBytes} bytes.`,
    );
  }

  static tooManyPixels(pixels: number, maxPixels: number): VerificationError {
    return new VerificationError(
      'IMAGE_TOO_MANY_PIXELS',
      `The image has ${pixels} pixels; the limit is ${maxPixels}.`,
    );
  }

  static sideTooLong(width: number, height: number, maxSide: number): VerificationError {
    return new VerificationError(
      'IMAGE_TOO_MANY_PIXELS',
      `The image is ${width} × ${height} pixels; neither side may be over ${maxSide}.`,
    );
  }

  static decodeTimeout(): VerificationError {
    return new VerificationError('DECODE_TIMEOUT');
  }

  static noFace(): VerificationError {
    return new VerificationError('NO_FACE');
  }

  static modelLoadFailed(path: string, cause?: unknown, what = 'embedding model'): VerificationError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new VerificationError('MODEL_LOAD_FAILED', `The ${what} at ${path} could not be loaded${reason}`, {
      cause,
    });
  }

  static modelClosed(): VerificationError {
    return new VerificationError('MODEL_CLOSED');
  }

  static inferenceFailed(cause?: unknown): VerificationError {
    return new VerificationError('INFERENCE_FAILED', undefined, { cause });
  }
}

export function isVerificationError(value: unknown): value is VerificationError {
  return value instanceof VerificationError;
}
