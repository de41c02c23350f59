/**
 * Real headless Chromium for the dashboard's end-to-end tests (Debian's `chromium`, driven by
 * playwright-core), and the dashboard built by Vite into a scratch directory so the test runs
 * what the source says. `describeBrowser` skips, with a printed reason, only off CI when
 * Chromium is missing; on CI it fails (`.ci/run` installs it).
 */
import { accessSync, constants, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { build } from 'vite'
import { beforeAll, describe } from 'vitest'

export const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']

function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK)
    return undefined
  } catch {
    return `${CHROMIUM} not found`
  }
}

/** `describe` for suites that need Chromium: skipped off CI when it is missing, failing on CI. */
export function describeBrowser(name: string, fn: () => void): void {
  const missing = chromiumMissing()
  if (!missing) {
    describe(name, fn)
    return
  }
  if (process.env.CI) {
    describe(name, () => {
      beforeAll(() => {
        throw new Error(`${missing}; CI must install it (apt-get install -y chromium)`)
      })
      fn()
    })
    return
  }
  console.warn(`[bulwark] skipped "${name}": ${missing} (apt-get install -y chromium to run it)`)
  describe.skip(name, fn)
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
}

/** Builds the dashboard (web/) into a new scratch directory and returns it. */
export async function buildDashboard(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'bulwark-web-'))
  await build({
    configFile: fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url)),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  })
  return outDir
}
