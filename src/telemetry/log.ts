/**
 * The pino subscriber: every decision other than a plain allow becomes one JSON event line;
 * with `log.access` on, every request does. Also logs the gateway's notices.
 */
import { pino, type Logger } from 'pino'
import type { Config } from '../config/schema.js'
import {
  decisionChannel,
  noticeChannel,
  type DecisionMessage,
  type NoticeMessage,
} from './channels.js'
import { toEvent } from './event.js'

export function createLogger(
  level: Config['log']['level'] = 'info',
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    { level, base: { service: 'bulwark' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  )
}

/**
 * Subscribes the logger to the channels. Returns the unsubscribe function; `setAccess` flips
 * access logging on reload.
 */
export function subscribeLog(logger: Logger, access: boolean) {
  let accessOn = access
  const onDecision = (m: unknown) => {
    const { ctx, decision, outcome } = m as DecisionMessage
    const interesting =
      decision.action !== 'allow' ||
      decision.wouldHave !== undefined ||
      decision.verdicts.some((v) => v.action !== 'allow')
    if (!interesting && !accessOn) return
    const event = toEvent(ctx, decision, outcome)
    if (!interesting) logger.info({ event: 'access', ...event }, 'access')
    else
      logger.warn(
        { event: 'decision', ...event },
        decision.wouldHave ? `would have ${decision.wouldHave}` : decision.action,
      )
  }
  const onNotice = (m: unknown) => {
    const { level, msg, ...rest } = m as NoticeMessage
    logger[level]({ event: 'notice', ...rest }, msg)
  }
  decisionChannel.subscribe(onDecision)
  noticeChannel.subscribe(onNotice)
  return {
    setAccess(on: boolean) {
      accessOn = on
    },
    unsubscribe() {
      decisionChannel.unsubscribe(onDecision)
      noticeChannel.unsubscribe(onNotice)
    },
  }
}
