/**
 * Log lines for tests, in both formats Bulwark reads, and a temporary directory to put them in.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)

export interface Line {
  readonly ip?: string
  /** Epoch ms (default T0). */
  readonly time?: number
  readonly method?: string
  readonly path: string
  readonly status?: number
  readonly ua?: string
  readonly account?: string
}

/** `ip - - [01/May/2024:12:00:00 +0000] "GET /path HTTP/1.1" 200 10 "-" "ua"` */
export function nginxLine(l: Line): string {
  const d = new Date(l.time ?? T0)
  const p = (n: number) => String(n).padStart(2, '0')
  const time = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  return `${l.ip ?? '203.0.113.1'} - - [${time}] "${l.method ?? 'GET'} ${l.path} HTTP/1.1" ${l.status ?? 200} 10 "-" "${l.ua ?? 'test-agent/1'}"`
}

/** A Bulwark `access` event line, as src/telemetry/log.ts writes it. */
export function bulwarkLine(l: Line): string {
  const time = l.time ?? T0
  const ip = l.ip ?? '203.0.113.1'
  return JSON.stringify({
    level: 30,
    time: new Date(time).toISOString(),
    service: 'bulwark',
    event: 'access',
    requestId: 'r',
    receivedAt: time,
    method: l.method ?? 'GET',
    path: l.path,
    route: '*',
    client: {
      ip,
      ipPrefix: ip,
      ipSource: 'socket',
      ipHop: 0,
      ...(l.account ? { account: l.account } : {}),
    },
    action: 'allow',
    mode: 'enforce',
    status: l.status ?? 200,
    ms: 1,
    reasons: [],
    rules: [],
    msg: 'access',
  })
}

/** A temporary directory with `write(name, text)`, removed by `cleanup()`. */
export async function tempDir(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return {
    dir,
    async write(name: string, text: string): Promise<string> {
      const file = join(dir, name)
      await writeFile(file, text)
      return file
    },
    path: (name: string) => join(dir, name),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}
