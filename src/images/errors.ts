/**
 * Why an image could not be used. Each code becomes the `error_class` of one dead letter
 * (`itemvec failures list`), so the set is small, stable and documented in the README.
 */
import { type ErrorContext, ExitCode, ItemvecError } from '../errors.js';

export const IMAGE_ERROR_CODES = {
  /** Not an absolute http(s) URL, or it carries credentials. */
  BAD_URL: 'the image URL is not an absolute http(s) URL without credentials',
  /** The host resolves to (or is) a loopback, private, link-local… address and is not allowlisted. */
  SSRF_REFUSED: 'the URL points inside the network and its host is not in images.allowHosts',
  DNS_FAILED: 'the host name does not resolve',
  CONNECT_FAILED: 'the connection failed or was reset',
  HTTP_STATUS: 'the server answered with an error status',
  TOO_MANY_REDIRECTS: 'more redirects than images.maxRedirects',
  /** Content-Type is not image/*, or the bytes are not a JPEG, PNG, GIF, WebP or AVIF. */
  NOT_AN_IMAGE: 'the response is not an image itemvec decodes',
  /** Declared or streamed body above images.maxBytes, or more pixels than images.maxPixels. */
  TOO_LARGE: 'the image is larger than the configured limit',
  /** Total time (images.timeoutMs) or silence between bytes (images.idleTimeoutMs) exceeded. */
  TIMEOUT: 'the server was too slow',
  /** The bytes start like an image but sharp cannot decode them (truncated, corrupt). */
  DECODE_FAILED: 'the image cannot be decoded',
} as const;

export type ImageErrorCode = keyof typeof IMAGE_ERROR_CODES;

/** One item's image is unusable; the run records it and goes on. */
export class ImageError extends ItemvecError {
  declare readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string, context: ErrorContext & { url?: string } = {}, options?: { cause?: unknown }) {
    // An item-level failure never ends the run, so the exit code only matters to library callers.
    super(code, message, ExitCode.source, context, options);
  }
}
