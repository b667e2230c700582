/** itemvec's own version, as package.json states it: what `itemvec --version` and the HTTP service report. */
import { createRequire } from 'node:module';

// package.json is one folder up from src/ and from dist/ alike, so this works before and after the build.
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
