#!/usr/bin/env -S node --expose-gc --single-threaded-gc
// The flags: src/cli/node-flags.ts says why (env -S: GNU coreutils 8.30+, Debian 10 and later).
// Thin launcher: the CLI is compiled TypeScript in dist/ (npm run build).
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('beepbox: not built yet; run `npm run setup` (or `npm ci && npm run build`) first\n');
    process.exit(1);
  }
  throw err;
});
