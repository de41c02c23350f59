/**
 * The dashboard's build: plain TypeScript and CSS, bundled by Vite into `dist/web/`, which the
 * admin listener serves (src/admin/static.ts). `npm run build:web` runs it.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0,
  },
})
