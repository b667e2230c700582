/**
 * Bytes → the RGB pixels an image model takes, with sharp (libvips): EXIF orientation applied,
 * transparency flattened onto white (how product shots on transparent backgrounds are shown),
 * sRGB, and a centre crop of the short side scaled to `size` × `size`. That crop is what CLIP's
 * own preprocessing does (resize the short side, centre-crop), so a CLIP processor receiving these
 * pixels changes nothing, and MobileNet gets the square it was trained on.
 */
import sharp from 'sharp';
import { ImageError } from './errors.js';
import type { ImageFormat } from './sniff.js';

/** Interleaved 8-bit RGB, row-major: `data.length === width * height * 3`. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /** Output side in pixels. */
  size: number;
  /** Refuse images with more pixels than this before decoding them (decompression bombs). */
  maxPixels: number;
  /** For error messages. */
  url?: string;
}

const ACCEPTED: ReadonlySet<string> = new Set<ImageFormat | 'heif'>(['jpeg', 'png', 'gif', 'webp', 'avif', 'heif']);

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  const where = options.url ?? 'image';
  try {
    // failOn 'warning' (sharp's default, spelled out): a truncated JPEG is an error, not a grey band.
    const image = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'warning', animated: false });
    const meta = await image.metadata();
    // Magic bytes were checked before; this guards against a body that sniffs as one format and
    // decodes as another (e.g. an SVG or TIFF behind a forged header).
    if (!meta.format || !ACCEPTED.has(meta.format)) {
      throw new ImageError('NOT_AN_IMAGE', `${where} decodes as ${meta.format ?? 'an unknown format'}, not JPEG, PNG, GIF, WebP or AVIF`, { url: options.url });
    }
    const { data, info } = await image
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(options.size, options.size, { fit: 'cover', position: 'centre' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== options.size * options.size * 3) {
      throw new ImageError('DECODE_FAILED', `${where} decoded to ${info.width}×${info.height}×${info.channels}, expected ${options.size}×${options.size}×3`, {
        url: options.url,
      });
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    const message = (err as Error).message ?? String(err);
    if (/pixel limit/i.test(message)) {
      throw new ImageError(
        'TOO_LARGE',
        `${where} has more pixels than images.maxPixels (${options.maxPixels}): ${message}`,
        { url: options.url },
        { cause: err },
      );
    }
    throw new ImageError('DECODE_FAILED', `${where} cannot be decoded (truncated or corrupt): ${message}`, { url: options.url }, { cause: err });
  }
}
