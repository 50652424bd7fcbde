#!/usr/bin/env node
// The `vmpro` executable. Installed from a package it runs the build (dist/, made by prepack).
// In a checkout of the repository (src/ is there, and tsx from the root's devDependencies) it
// runs the TypeScript sources, so that `npx vmpro` works right after `npm install`, with no
// build and never a stale one; the library's `vmpro-connect/*` imports then resolve to its
// sources through the root tsconfig's `paths`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const build = new URL('../dist/cli/main.js', import.meta.url);
const tsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

async function tsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

const api = existsSync(source) && existsSync(tsconfig) ? await tsx() : undefined;
if (api) {
  api.register({ tsconfig });
  await import(source.href);
} else if (existsSync(build)) {
  await import(build.href);
} else {
  process.stderr.write(
    'vmpro: there is no build (dist/) to run, and no tsx to run the sources with.\n' +
      'In the repository, run `npm install` in its root folder (or `npm run build`).\n',
  );
  process.exit(1);
}
