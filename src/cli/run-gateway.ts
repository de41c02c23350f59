/**
 * Runs a gateway as a process: logging, the admin listener (metrics, admin API, dashboard), hot
 * reload (SIGHUP, file changes, the admin API) and graceful shutdown (SIGTERM/SIGINT). Shared
 * by `serve` and `demo`.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { loadGatewayConfig } from '../config/gateway-config.js'
import type { Config } from '../config/schema.js'
import { startAdmin, type Admin, type ReloadResult } from '../admin/admin.js'
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
    ...(opts.configFile !== undefined
      ? { configDir: dirname(resolve(opts.configFile)), configFile: opts.configFile }
      : {}),
  })
  logger.info(
    { event: 'listening', url: gw.url, mode: config.mode, config: opts.configFile },
    `bulwark listening on ${gw.url}`,
  )

  let reloading: Promise<unknown> = Promise.resolve()
  let admin: Admin | undefined
  const reload = (why: string): Promise<ReloadResult> => {
    const file = opts.configFile
    if (!file) return Promise.resolve({ ok: false, at: Date.now(), why, error: 'no config file' })
    const done = reloading.then(async (): Promise<ReloadResult> => {
      try {
        const next = await loadGatewayConfig(file)
        const before = gw.engine.config.admin
        await gw.reload(next)
        log.setAccess(next.log.access)
        logger.level = next.log.level
        logger.info({ event: 'reload', ok: true, why, config: file }, 'config reloaded')
        const a = next.admin
        if (a.enabled !== before.enabled || a.host !== before.host || a.port !== before.port)
          logger.warn(
            { event: 'reload', why },
            'admin.enabled/host/port changed: they take effect on restart',
          )
        const result = { ok: true, at: Date.now(), why }
        admin?.reloaded(result, next.admin)
        return result
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
        const error = err instanceof ConfigError ? `${err.code}: ${err.message}` : String(err)
        const result = { ok: false, at: Date.now(), why, error }
        admin?.reloaded(result)
        return result
      }
    })
    reloading = done
    return done
  }
  if (config.admin.enabled) {
    try {
      admin = await startAdmin({
        config: config.admin,
        gateway: gw,
        ...(opts.configFile
          ? { configFile: opts.configFile, reload: () => reload('admin API') }
          : {}),
      })
      logger.info(
        { event: 'admin', url: admin.url, auth: config.admin.token ? 'token' : 'loopback' },
        `admin listening on ${admin.url} (dashboard, /metrics, /api)`,
      )
    } catch (err) {
      // The admin listener observes; a port already taken must not take protection down.
      logger.error(
        {
          event: 'admin',
          ok: false,
          code: (err as { code?: string }).code,
          error: String((err as Error).message ?? err),
        },
        'admin listener not started',
      )
    }
  }
  process.on('SIGHUP', () => void reload('SIGHUP'))

  let watcher: FSWatcher | undefined
  if (opts.configFile && opts.watch !== false) {
    // Watch the directory: editors replace files (rename), which a file watch would lose.
    let timer: NodeJS.Timeout | undefined
    const name = basename(opts.configFile)
    watcher = watch(dirname(opts.configFile), (_event, changed) => {
      if (changed && changed !== name) return
      clearTimeout(timer)
      timer = setTimeout(() => void reload('file changed'), 150)
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
    await admin?.close()
    await opts.onClose?.()
    logger.info({ event: 'shutdown', done: true }, 'stopped')
    log.unsubscribe()
    // End by running out of work, so the log's pending async write lands before the last line
    // (process.exit mid-write lets the final line overtake it); force it if something lingers.
    process.exitCode = 0
    setTimeout(() => process.exit(0), 2_000).unref()
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  return gw
}
