import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** @type {import('next').NextConfig} */
export default {
  // The app lives in a cache folder without a lockfile: say where its root is.
  outputFileTracingRoot: here,
  turbopack: { root: here },
  poweredByHeader: false,
};
