/**
 * `node --import tsx --import ./bench/lib/use-build.mjs …`: the library's sources (`src/**.ts`)
 * and the demo's (`packages/cli/src/**.ts`) are loaded from the compiled build in
 * `BENCH_BUILD_DIR` (plain `tsc` output, as shipped)
 * instead of being transpiled by tsx, whose esbuild `keepNames` wraps every named function in a
 * `__name(…)` call at creation time — several µs per request that the published package does
 * not pay. Everything else (the bench servers, test support) still runs through tsx.
 */
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const buildDir = process.env.BENCH_BUILD_DIR;
if (buildDir) {
  const root = new URL('../../', import.meta.url);
  register('./use-build-hooks.mjs', import.meta.url, {
    data: {
      src: new URL('src/', root).href,
      cliSrc: new URL('packages/cli/src/', root).href,
      out: `${pathToFileURL(buildDir).href}/`,
      root: root.href,
    },
  });
}
