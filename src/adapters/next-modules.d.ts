// The Next.js entry points the Next adapter loads at run time, spelled as Next.js apps spell them
// ('next/headers', not 'next/headers.js'): Next's bundler gives each layer (route handlers, server
// components, Edge) its own build of these, and only under these names. TypeScript's NodeNext
// resolution cannot resolve extensionless subpaths of a package without an `exports` map, so the
// adapter declares the little it uses here and types it at the call site.
declare module 'next/headers' {
  export const cookies: unknown;
  export const headers: unknown;
}
declare module 'next/navigation' {
  export const redirect: unknown;
}
declare module 'next/server' {
  export const NextResponse: unknown;
}
