/**
 * Runs a gateway as a process: logging, hot reload (SIGHUP and file changes) and graceful
 * shutdown (SIGTERM/SIGINT). Shared by `serve` and `demo`.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { loadGatewayConfig } from '../config/gateway-config.js'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'
import { startGateway, type Gateway } from '../proxy/gateway.js'
import { createLogger, subscribeLog } from '../telemetry/log.js'

export interface RunOptions {
  readonly configFile?: string
  readonly watch?: boolean
  readonly port?: number
  readonly host?: string
  /** Extra cleanup on shutdown (the demo stops its shop). */
  readonly onClose?: () => Promise<void>
}

export async function runGateway(config: Config, opts: RunOptions): Promise<Gateway> {
  const logger = createLogger(config.log.level)
  const log = subscribeLog(logger, config.log.access)
  const gw = await startGateway(config, {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  })
  logger.info(
    { event: 'listening', url: gw.url, mode: config.mode, config: opts.configFile },
    `bulwark listening on ${gw.url}`,
  )

  let reloading = Promise.resolve()
  const reload = (why: string) => {
    if (!opts.configFile) return
    const file = opts.configFile
    reloading = reloading.then(async () => {
      try {
        const next = await loadGatewayConfig(file)
        await gw.reload(next)
        log.setAccess(next.log.access)
        logger.level = next.log.level
        logger.info({ event: 'reload', ok: true, why, config: file }, 'config reloaded')
      } catch (err) {
        // A bad config never replaces a good one: the old one stays in force.
        const detail =
          err instanceof ConfigError
            ? { code: err.code, issues: err.message.split('\n') }
            : { error: String(err) }
        logger.error(
          { event: 'reload', ok: false, why, config: file, ...detail },
          'config rejected; the previous config stays in force',
        )
      }
    })
  }
  process.on('SIGHUP', () => reload('SIGHUP'))

  let watcher: FSWatcher | undefined
  if (opts.configFile && opts.watch !== false) {
    // Watch the directory: editors replace files (rename), which a file watch would lose.
    let timer: NodeJS.Timeout | undefined
    const name = basename(opts.configFile)
    watcher = watch(dirname(opts.configFile), (_event, changed) => {
      if (changed && changed !== name) return
      clearTimeout(timer)
      timer = setTimeout(() => reload('file changed'), 150)
    })
    watcher.unref()
  }

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ event: 'shutdown', signal }, 'draining in-flight requests')
    watcher?.close()
    await gw.close()
    await opts.onClose?.()
    logger.info({ event: 'shutdown', done: true }, 'stopped')
    log.unsubscribe()
    logger.flush()
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  return gw
}
