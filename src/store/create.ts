/** Builds the configured store. */
import type { StoreSpec } from '../identity/spec.js'
import { notice } from '../telemetry/channels.js'
import { MemoryStore } from './memory.js'
import { RedisStore } from './redis.js'
import type { Store } from './store.js'

export function createStore(spec: StoreSpec): Store {
  if (spec.type === 'memory') return new MemoryStore({ maxKeys: spec.maxKeys })
  return new RedisStore({
    ...(spec.url !== undefined ? { url: spec.url } : {}),
    ...(spec.cluster !== undefined ? { cluster: spec.cluster } : {}),
    timeoutMs: spec.timeout,
    prefix: spec.prefix,
    onStatus: (status, detail) =>
      notice({
        kind: 'store-status',
        level: status === 'ready' ? 'info' : 'warn',
        msg: `redis ${status}${detail ? `: ${detail}` : ''}`,
        status,
      }),
  })
}
