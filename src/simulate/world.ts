/**
 * What a scenario sees of a run: its own random stream, simulated time (`pause`), and factories
 * for clients, addresses and browser header sets. The run underneath owns the clock that ends
 * everything: once time is up, every `pause` and `send` throws {@link Stopped}.
 * Used by `simulate.ts` (creates) and the scenarios (use); calls the client, profiles and pools.
 * @see ../../docs/simulate.md#time
 */
import { setMaxListeners } from 'node:events'
import type { Dispatcher } from 'undici'
import { ipPool, NETWORKS, type IpPool } from './ip-pool.js'
import {
  BOT_PROFILES,
  BOT_PROFILES_AS_PEOPLE,
  HUMAN_PROFILES,
  profileDeck,
  type BotHeaders,
  type Profile,
} from './profiles.js'
import type { Rng } from './rng.js'
import { SimClient, Stopped, type Wire } from './sim-client.js'
import type { Tally } from './tally.js'
import type { Target } from './target.js'

/** A scenario's view of the run. */
export interface World {
  /** This scenario's random stream. */
  readonly rng: Rng
  /** Simulated time runs this many times faster than real time. */
  readonly speed: number
  running(): boolean
  /**
   * Waits `ms` of simulated time (`ms / speed` real).
   * @throws {Stopped} as soon as the run ends.
   */
  pause(ms: number): Promise<void>
  /** A new client at `ip` sending `profile`'s headers. */
  client(ip: string, profile: Profile): SimClient
  /** The next browser header set people use; never the same twice until all are dealt. */
  humanProfile(filter?: (p: Profile) => boolean): Profile
  /** The next header set a bot copies: older releases, never a human's. */
  botProfile(filter?: (p: Profile) => boolean): Profile
  /** Addresses from one of the simulator's networks (the same sequence on every call). */
  ips(network: keyof typeof NETWORKS): IpPool
  /** What the scenario got done, for the report. */
  achieved(text: string): void
  /**
   * Runs `worker(0)` … `worker(n - 1)` side by side (people, a bot's connections) and settles
   * when every one has: no request is left in flight behind the scenario's back.
   */
  parallel(n: number, worker: (i: number) => Promise<void>): Promise<void>
}

/** One run's shared state: the wire, the end, and the decks every scenario deals from. */
export interface Run {
  readonly wire: Wire
  /** Time is up: pauses throw, no request starts. */
  stop(): void
  /** Grace is over: requests in flight are cut off. */
  cut(): void
  world(rng: Rng, tally: Tally): World
}

/**
 * @example
 * const run = createRun(target, agent, 10, createRng(1), 'older')
 * const world = run.world(rng.fork('office'), tally)
 */
export function createRun(
  target: Target,
  dispatcher: Dispatcher,
  speed: number,
  rng: Rng,
  botHeaders: BotHeaders = 'older',
): Run {
  let stopped = false
  const cutoff = new AbortController()
  // Every request in flight listens on the one cutoff signal.
  setMaxListeners(0, cutoff.signal)
  const waiting = new Set<() => void>()
  const humans = profileDeck(HUMAN_PROFILES, rng.fork('profiles:human'))
  const humanSet: ReadonlySet<Profile> = new Set(HUMAN_PROFILES)
  const bots = profileDeck(
    botHeaders === 'people' ? BOT_PROFILES_AS_PEOPLE : BOT_PROFILES,
    rng.fork('profiles:bot'),
  )
  const wire: Wire = { target, dispatcher, running: () => !stopped, cutoff: cutoff.signal }

  const sleep = (realMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (stopped) return reject(new Stopped())
      const wake = () => {
        clearTimeout(timer)
        waiting.delete(wake)
        reject(new Stopped())
      }
      const timer = setTimeout(() => {
        waiting.delete(wake)
        resolve()
      }, realMs)
      waiting.add(wake)
    })

  return {
    wire,
    stop() {
      stopped = true
      for (const wake of [...waiting]) wake()
    },
    cut: () => cutoff.abort(),
    world: (scenarioRng, tally) => ({
      rng: scenarioRng,
      speed,
      running: () => !stopped,
      // setTimeout fires at once beyond 2^31 - 1 ms; a pause that long outlasts any run anyway.
      pause: (ms) => sleep(Math.min(2 ** 31 - 1, Math.max(0, ms / speed))),
      client: (ip, profile) => {
        const client = new SimClient(wire, tally, ip, profile)
        // A person's browser runs the site's own script, which answers proof-of-work challenges.
        client.solvesChallenges = humanSet.has(profile)
        return client
      },
      humanProfile: (filter) => humans.draw(filter),
      botProfile: (filter) => bots.draw(filter),
      ips: (network) => ipPool(NETWORKS[network], scenarioRng.fork(`ips:${network}`)),
      achieved: (text) => tally.achieved(text),
      async parallel(n, worker) {
        const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => worker(i)))
        const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
        if (failures.length) throw failures.find((e) => !(e instanceof Stopped)) ?? failures[0]
      },
    }),
  }
}
