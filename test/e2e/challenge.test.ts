/**
 * The proof-of-work challenge in real headless Chromium: a page served through the gateway
 * signs in with `fetchWithChallenge` (the client module, as shipped, run by the browser's own
 * Web Crypto). Once the gateway's rule is tripped, a plain fetch gets the puzzle, and the
 * wrapper solves it and gets through; the backend sees only the requests that were let in.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import ts from 'typescript'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startGateway, type Gateway } from '../../src/proxy/gateway.js'
import { gwConfig } from '../proxy/helpers.js'
import { describeBrowser, launchChromium } from './browser.js'

const PAGE = `<!doctype html><meta charset="utf-8"><title>pow</title>
<script type="module">
import { fetchWithChallenge } from '/client.js'
const login = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"ana"}' }
window.signIn = async () => {
  const first = await fetch('/api/login', login)
  const plain = await fetch('/api/login', login)
  const plainBody = await plain.json()
  const t = performance.now()
  const solved = await fetchWithChallenge('/api/login', login)
  return { first: first.status, plain: plain.status, plainBody, solved: solved.status, solvedBody: await solved.json(), ms: performance.now() - t }
}
window.ready = true
</script>`

describeBrowser('proof-of-work challenge (headless Chromium)', () => {
  let app: Server
  let gw: Gateway
  let browser: Browser
  let logins = 0

  beforeAll(async () => {
    // What a browser runs: the client module compiled from its source, nothing else.
    const source = readFileSync(new URL('../../src/challenge/client.ts', import.meta.url), 'utf8')
    const client = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText
    app = createServer((req, res) => {
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
      else if (req.url === '/client.js')
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(client)
      else if (req.url === '/api/login') {
        logins++
        req.resume()
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}')
      } else res.writeHead(404).end()
    })
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
    const port = (app.address() as AddressInfo).port
    gw = await startGateway(
      gwConfig({
        upstreams: { app: { url: `http://127.0.0.1:${port}` } },
        routes: [{ path: '/*', upstream: 'app' }],
        challenge: { secret: 'c'.repeat(32), bits: 12 },
        limits: {
          rules: [
            {
              id: 'logins',
              paths: ['/api/login'],
              methods: ['POST'],
              key: ['ip'],
              limit: 1,
              window: '1h',
              action: 'challenge',
            },
          ],
        },
        admin: { enabled: false },
      }),
      { port: 0, host: '127.0.0.1' },
    )
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await gw?.close()
    await new Promise((r) => app?.close(r))
  })

  it('a browser solves the puzzle and signs in; a plain retry does not', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(`${gw.url}/`)
    await page.waitForFunction('window.ready === true')
    const r = (await page.evaluate('window.signIn()')) as Record<string, unknown>
    expect(errors).toEqual([])
    expect(r).toMatchObject({
      first: 200,
      plain: 401,
      plainBody: { status: 401, challenge: { scheme: 'Bulwark-PoW', bits: 12 } },
      solved: 200,
      solvedBody: { token: 't' },
    })
    // The backend saw the first login and the solved one, not the refused one.
    expect(logins).toBe(2)
    console.log(`[bulwark] Chromium solved a 12-bit puzzle in ${Math.round(r.ms as number)} ms`)
  })
})
