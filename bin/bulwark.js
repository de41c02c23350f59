#!/usr/bin/env node
// The CLI is compiled by `npm install` (the `prepare` script) into dist/.
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    console.error('bulwark: the CLI is not built yet. Run `npm install` (or `npm run build`) first.')
    process.exit(1)
  }
  throw err
})
