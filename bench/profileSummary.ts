/**
 * Reads a V8 `.cpuprofile` and says where the time goes: self time by package (the Effect runtime,
 * our `src/`, the SDK's middleware, signing, node's http), per request, and the top functions by
 * self and by inclusive time.
 *
 * Native and builtin frames (`JSON.parse`, `TextDecoder`, regexps: no script URL) are charged to
 * the nearest caller that has one, so "ours" includes the `JSON.parse` our decoding calls.
 */

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

export interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface FunctionCost {
  readonly name: string
  readonly category: string
  readonly usPerUnit: number
  readonly share: number
}

export interface ProfileSummary {
  /** Sampled busy time (idle excluded), µs. */
  readonly busyUs: number
  readonly units: number
  /** Busy µs per unit (request or event), by category, largest first. */
  readonly categories: ReadonlyArray<{ readonly category: string; readonly usPerUnit: number; readonly share: number }>
  readonly topSelf: ReadonlyArray<FunctionCost>
  /** Inclusive time of the functions in our code (with what they call). */
  readonly topInclusive: ReadonlyArray<FunctionCost>
  /** The top functions by self time within each category. */
  readonly topByCategory: Record<string, ReadonlyArray<FunctionCost>>
}

const SPECIAL: Record<string, string> = {
  "(garbage collector)": "GC",
  "(program)": "V8 (program: compiler, runtime)",
  "(root)": "V8 (program: compiler, runtime)"
}

/** The package a script URL belongs to. */
export const categoryOf = (url: string): string | undefined => {
  if (url === "") return undefined
  const path = decodeURIComponent(url.replace(/^file:\/\//, ""))
  const build = path.indexOf("/effect-sagemaker-bench/")
  if (build >= 0) return path.startsWith("src/", build + 24) ? "ours (src/)" : "bench harness"
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path)
  if (pkg !== null) {
    const name = pkg[1]!
    const rest = pkg[2]!
    if (name === "effect") return "effect runtime"
    if (name.startsWith("@effect/")) return name
    if (name === "@smithy/signature-v4") return "SigV4 signing (@smithy/signature-v4)"
    if (name === "@smithy/node-http-handler") return "SDK http handler (@smithy/node-http-handler)"
    if (name === "@smithy/core") {
      const sub = /submodules\/([^/]+)\//.exec(rest)
      return sub === null ? "SDK middleware (@smithy/core)" : sub[1] === "event-streams"
        ? "SDK event streams (@smithy/core/event-streams)"
        : `SDK middleware/serde (@smithy/core/${sub[1]})`
    }
    if (name.startsWith("@smithy/") || name.startsWith("@aws-sdk/") || name.startsWith("@aws-crypto/")) {
      return name === "@aws-sdk/client-sagemaker-runtime" ?
        "SDK client (@aws-sdk/client-sagemaker-runtime)" :
        name.startsWith("@aws-sdk/")
        ? "SDK middleware (@aws-sdk/*)"
        : `SDK (${name})`
    }
    return name
  }
  if (path.startsWith("node:")) {
    const module = path.slice(5)
    if (/^_http|^http|internal\/http/.test(module)) return "node http"
    if (/stream/.test(module)) return "node streams"
    if (/^net|internal\/net|stream_base|dns/.test(module)) return "node net"
    if (/crypto/.test(module)) return "node crypto (hash, hmac)"
    if (/timers|task_queues|async_hooks|promise|process/.test(module)) return "node event loop, promises"
    if (/buffer|encoding|util/.test(module)) return "node buffer, text encoding"
    return "node (other)"
  }
  return "other"
}

const frameName = (frame: CallFrame): string => {
  const file = frame.url === "" ? "" : decodeURIComponent(frame.url)
    .replace(/^file:\/\//, "")
    .replace(/^.*\/effect-sagemaker-bench\//, "")
    .replace(/^.*\/node_modules\//, "")
  return `${frame.functionName || "(anonymous)"}${file === "" ? "" : ` ${file}:${frame.lineNumber + 1}`}`
}

export const summarize = (profile: CpuProfile, units: number, top = 20): ProfileSummary => {
  const nodes = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    nodes.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  // Category of each node: its own URL's, else (native, builtin) its nearest caller's.
  const categoryMemo = new Map<number, string>()
  const category = (id: number): string => {
    const known = categoryMemo.get(id)
    if (known !== undefined) return known
    const node = nodes.get(id)!
    const special = SPECIAL[node.callFrame.functionName]
    let result = special ?? categoryOf(node.callFrame.url)
    if (result === undefined) {
      const up = parent.get(id)
      result = up === undefined || nodes.get(up)!.callFrame.functionName === "(root)"
        ? `native (${node.callFrame.functionName || "anonymous"})`
        : category(up)
    }
    categoryMemo.set(id, result)
    return result
  }

  const byCategory = new Map<string, number>()
  const self = new Map<string, { us: number; category: string }>()
  const inclusive = new Map<string, { us: number; category: string }>()
  let busyUs = 0
  const samples = profile.samples
  for (let i = 0; i < samples.length; i++) {
    // Each delta is the time until the next sample: charge it to this one.
    const us = profile.timeDeltas[i + 1] ?? 0
    const id = samples[i]!
    const node = nodes.get(id)!
    if (node.callFrame.functionName === "(idle)") continue
    busyUs += us
    const cat = category(id)
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us)
    const name = frameName(node.callFrame)
    const entry = self.get(name) ?? { us: 0, category: cat }
    entry.us += us
    self.set(name, entry)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = nodes.get(at)!.callFrame
      const own = categoryOf(frame.url)
      if (own !== "ours (src/)") continue
      const key = frameName(frame)
      if (seen.has(key)) continue
      seen.add(key)
      const incl = inclusive.get(key) ?? { us: 0, category: own }
      incl.us += us
      inclusive.set(key, incl)
    }
  }
  const perUnit = (us: number) => us / Math.max(1, units)
  const rank = (map: Map<string, { us: number; category: string }>) =>
    [...map.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { category, us }]) => ({ name, category, usPerUnit: perUnit(us), share: us / busyUs }))
  return {
    busyUs,
    units,
    categories: [...byCategory.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([category, us]) => ({ category, usPerUnit: perUnit(us), share: us / busyUs })),
    topSelf: rank(self),
    topInclusive: rank(inclusive),
    topByCategory: Object.fromEntries(
      [...byCategory.keys()].map((cat) => [
        cat,
        rank(new Map([...self.entries()].filter(([, entry]) => entry.category === cat))).slice(0, 8)
      ])
    )
  }
}
