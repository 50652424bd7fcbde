/**
 * Module hooks for use-build.mjs: `src/**.ts` and `packages/cli/src/**.ts` → the compiled `.js`;
 * bare imports from the build resolve from the project (`vmpro-connect/*` through tsx and the
 * tsconfig's paths to src/, and so to the build again).
 */
let src = '';
let cliSrc = '';
let out = '';
let root = '';

export function initialize(data) {
  ({ src, cliSrc, out, root } = data);
}

export async function resolve(specifier, context, next) {
  const fromBuild = context.parentURL?.startsWith(out);
  const bare = !/^(\.|\/|node:|file:|data:)/.test(specifier);
  const result = await next(specifier, fromBuild && bare ? { ...context, parentURL: root } : context);
  if (result.url.startsWith(src) && result.url.endsWith('.ts')) {
    return { ...result, url: `${out}${result.url.slice(src.length, -3)}.js`, format: 'module' };
  }
  if (result.url.startsWith(cliSrc) && result.url.endsWith('.ts')) {
    return {
      ...result,
      url: `${out}cli-package/${result.url.slice(cliSrc.length, -3)}.js`,
      format: 'module',
    };
  }
  if (result.url.startsWith(out)) return { ...result, format: 'module' };
  return result;
}
