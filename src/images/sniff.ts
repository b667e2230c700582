/**
 * Magic-byte sniffing. A Content-Type is only the server's claim; the first bytes say what the body
 * is. Only raster formats sharp decodes from the prebuilt libvips are accepted: SVG (XML that may
 * reference other resources) and TIFF (rare on the web, can hide huge pages) are not.
 */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif';

/** Bytes needed to tell every accepted format apart. */
export const SNIFF_BYTES = 16;

const ascii = (bytes: Uint8Array, start: number, text: string) => [...text].every((c, i) => bytes[start + i] === c.charCodeAt(0));

/** The format `bytes` start with, or null when they are none of the accepted ones. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(bytes, 1, 'PNG\r\n\x1a\n')) return 'png';
  if (bytes.length >= 6 && (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a'))) return 'gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'webp';
  // ISO-BMFF: a box size, then `ftyp` and the major brand. AVIF is `avif` (still) or `avis` (sequence).
  if (bytes.length >= 12 && ascii(bytes, 4, 'ftyp') && (ascii(bytes, 8, 'avif') || ascii(bytes, 8, 'avis'))) return 'avif';
  return null;
}

/** `image/jpeg; charset=…` → `image/jpeg`; null when absent. */
export function mediaType(contentType: string | undefined): string | null {
  if (!contentType) return null;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === '' ? null : type;
}
