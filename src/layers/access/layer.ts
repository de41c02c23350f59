/**
 * The `access` layer: static rules by path, method and client network. The simplest layer, and
 * the model for the others: compile in `create`, run closures in `check`.
 * @see ../../../README.md#access
 */
import { BlockList, isIP } from 'node:net'
import type { Layer, LayerDeps, RequestContext, Verdict } from '../../engine/types.js'
import { compileRoutes } from '../../request/routes.js'
import type { LayerType } from '../layer-type.js'
import { AccessSpec } from './spec.js'

interface CompiledRule {
  readonly id: string
  readonly test: (ip: string) => boolean
  readonly verdict: Verdict
}

function netList(cidrs: readonly string[]): BlockList {
  const list = new BlockList()
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string | undefined]
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(addr, type)
    else list.addSubnet(addr, Number(bits), type)
  }
  return list
}

export const access: LayerType<AccessSpec> = {
  type: 'access',
  spec: AccessSpec,
  create(spec, deps: LayerDeps): Layer {
    const rules: CompiledRule[] = spec.rules.map((r) => {
      const list = netList(r.from.length ? r.from : r.notFrom)
      const inList = (ip: string) => list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')
      const test = r.from.length
        ? inList
        : r.notFrom.length
          ? (ip: string) => !inList(ip)
          : () => true
      const monitor = (r.mode ?? deps.mode) === 'monitor'
      const verdict: Verdict = {
        action: r.action,
        rule: `access.${r.id}`,
        reason: `access rule "${r.id}" matched`,
        monitor,
        ...(r.status !== undefined ? { status: r.status } : {}),
      }
      return { id: r.id, test, verdict }
    })
    const matcher = compileRoutes(
      spec.rules.map((r, i) => ({
        paths: r.paths.length ? r.paths : ['/*'],
        methods: r.methods,
        value: i,
      })),
      deps.foldCase ?? true,
    )
    return {
      name: 'access',
      check: function accessCheck(ctx: RequestContext) {
        if (rules.length === 0) return undefined
        const hits = matcher.all(ctx.method, ctx.pathKey)
        for (const i of hits) {
          const rule = rules[i]!
          if (rule.test(ctx.identity.ip)) return rule.verdict
        }
        return undefined
      },
    }
  },
}
