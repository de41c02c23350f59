import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/engine.js'
import { combine } from '../../src/engine/decision.js'
import { toEffect } from '../../src/engine/effect.js'
import { runLayers } from '../../src/engine/pipeline.js'
import type { Layer, Verdict } from '../../src/engine/types.js'
import { config, raw } from '../helpers/engine.js'

const v = (action: Verdict['action'], monitor = false, rule = `t.${action}`): Verdict => ({
  action,
  rule,
  reason: action,
  monitor,
})

describe('combine', () => {
  it('is allow with no verdicts', () => {
    expect(combine([])).toMatchObject({ action: 'allow', verdicts: [] })
  })
  it('takes the most severe enforced verdict', () => {
    const d = combine([v('delay'), v('block'), v('throttle')])
    expect(d.action).toBe('block')
    expect(d.decisive?.rule).toBe('t.block')
    expect(d.verdicts).toHaveLength(3)
  })
  it('puts monitor verdicts in wouldHave only when more severe', () => {
    expect(combine([v('block', true), v('throttle')])).toMatchObject({
      action: 'throttle',
      wouldHave: 'block',
    })
    expect(combine([v('log', true), v('throttle')]).wouldHave).toBeUndefined()
  })
})

describe('toEffect', () => {
  it('forwards allow, log and delay', () => {
    expect(toEffect(combine([]), 'r')).toEqual({ kind: 'forward', delayMs: 0, headers: {} })
    expect(toEffect(combine([{ ...v('delay'), delayMs: 250 }]), 'r')).toMatchObject({
      kind: 'forward',
      delayMs: 250,
    })
  })
  it('answers throttle 429 and block 403 with a body that names no rule', () => {
    const t = toEffect(combine([{ ...v('throttle'), headers: { 'retry-after': '3' } }]), 'req-9')
    expect(t).toMatchObject({ kind: 'respond', status: 429, headers: { 'retry-after': '3' } })
    expect(JSON.parse((t as { body: string }).body)).toEqual({
      error: 'Too Many Requests',
      status: 429,
      requestId: 'req-9',
    })
    const b = toEffect(combine([v('block')]), 'r')
    expect(b).toMatchObject({ kind: 'respond', status: 403 })
    expect((b as { body: string }).body).not.toContain('t.block')
  })
  it('never enforces a monitor verdict', () => {
    expect(toEffect(combine([v('block', true)]), 'r').kind).toBe('forward')
  })
})

describe('runLayers', () => {
  const layer = (
    name: string,
    out: Verdict | undefined | Promise<Verdict | undefined>,
    seen: string[],
  ): Layer => ({
    name,
    check: () => {
      seen.push(name)
      return out
    },
  })
  it('stays synchronous while layers are, and stops at an enforced block', () => {
    const seen: string[] = []
    const r = runLayers(
      [layer('a', v('log'), seen), layer('b', v('block'), seen), layer('c', v('log'), seen)],
      {} as never,
    )
    expect(Array.isArray(r)).toBe(true)
    expect(seen).toEqual(['a', 'b'])
  })
  it('does not stop at a monitor block, and handles async layers', async () => {
    const seen: string[] = []
    const r = runLayers(
      [
        layer('a', Promise.resolve(v('block', true)), seen),
        layer('b', undefined, seen),
        layer('c', v('throttle'), seen),
      ],
      {} as never,
    )
    expect(r).toBeInstanceOf(Promise)
    expect((await r).map((x) => x.action)).toEqual(['block', 'throttle'])
    expect(seen).toEqual(['a', 'b', 'c'])
  })
})

describe('engine', () => {
  const base = {
    upstreams: { app: { url: 'http://127.0.0.1:9' } },
    routes: [
      { path: '/*', upstream: 'app' },
      { path: '/files/*', upstream: 'app', allowAmbiguous: ['encoded-slash'] },
    ],
    access: {
      rules: [
        { id: 'office-only-admin', paths: ['/api/admin/*'], notFrom: ['10.1.0.0/16'] },
        { id: 'watch-legacy', paths: ['/legacy/*'], action: 'block', mode: 'monitor' },
      ],
    },
  }

  it('refuses ambiguous paths before any layer, unless the route opts in', () => {
    const e = createEngine(config(base))
    const bad = e.prepare(raw('GET /api/a%2Fb'))
    expect(bad.refusal).toMatchObject({ action: 'block', status: 400, rule: 'request.ambiguous' })
    expect(bad.refusal?.reason).toContain('encoded slash')
    const ok = e.prepare(raw('GET /files/a%2Fb'))
    expect(ok.refusal).toBeUndefined()
    expect(ok.ctx.path).toBe('/files/a%2Fb')
  })

  it('applies an access rule on the canonical path whatever its spelling', () => {
    const e = createEngine(config(base))
    for (const url of [
      '/api/admin/users',
      '/API/Admin/users',
      '/api//admin/./users',
      '/api/%61dmin/users/',
    ]) {
      const { ctx, refusal } = e.prepare(raw(`GET ${url}`, { ip: '203.0.113.5' }))
      expect(refusal, url).toBeUndefined()
      const d = e.inspect(ctx) as ReturnType<typeof combine>
      expect(d.action, url).toBe('block')
      expect(d.decisive?.rule).toBe('access.office-only-admin')
    }
    const { ctx } = e.prepare(raw('GET /api/admin/users', { ip: '10.1.2.3' }))
    expect((e.inspect(ctx) as ReturnType<typeof combine>).action).toBe('allow')
  })

  it('monitor rules decide but never enforce; global monitor mode does the same for every rule', () => {
    const e = createEngine(config(base))
    const d1 = e.inspect(e.prepare(raw('GET /legacy/x')).ctx) as ReturnType<typeof combine>
    expect(d1).toMatchObject({ action: 'allow', wouldHave: 'block' })
    const m = createEngine(config({ ...base, mode: 'monitor' }))
    const d2 = m.inspect(
      m.prepare(raw('GET /api/admin/x', { ip: '198.51.100.1' })).ctx,
    ) as ReturnType<typeof combine>
    expect(d2).toMatchObject({ action: 'allow', wouldHave: 'block' })
    expect(d2.verdicts[0]?.monitor).toBe(true)
  })

  it('refuses smuggling-shaped framing', () => {
    const e = createEngine(config(base))
    const two = raw('GET /x')
    expect(e.prepare({ ...two, rawHeaders: ['Host', 'a', 'host', 'b'] }).refusal?.reason).toBe(
      'more than one Host header',
    )
    const clte = raw('POST /x', {
      headers: { 'transfer-encoding': 'chunked', 'content-length': '5' },
    })
    expect(e.prepare(clte).refusal?.reason).toBe('Content-Length together with Transfer-Encoding')
    const many = raw('GET /x', {
      headers: Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-h${i}`, '1'])),
    })
    expect(e.prepare(many).refusal).toMatchObject({ status: 431 })
  })

  it('accepts absolute-form only for its own host', () => {
    const e = createEngine(config(base))
    expect(e.prepare(raw('GET http://gw.test/a/b?q=1')).ctx).toMatchObject({
      path: '/a/b',
      query: 'q=1',
    })
    expect(e.prepare(raw('GET http://evil.test/a')).refusal?.status).toBe(400)
  })

  it('fails closed when a layer throws', () => {
    const e = createEngine(config(base))
    ;(e.layers as Layer[]).unshift({
      name: 'boom',
      check: () => {
        throw new Error('bug')
      },
    })
    const d = e.inspect(e.prepare(raw('GET /x')).ctx) as ReturnType<typeof combine>
    expect(d).toMatchObject({
      action: 'block',
      decisive: { rule: 'engine.layer-error', status: 500 },
    })
  })
})
