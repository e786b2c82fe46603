/** The plugin's code, which build.mjs hands to src/boot.ts as a string. */
declare module 'check-conntrack:main' {
  /** src/main.ts and all it imports, bundled as a CommonJS module body. */
  export const code: string;
  /** A hash of `code`: names the cache of its compiled form. */
  export const buildId: string;
}
