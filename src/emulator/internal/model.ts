/**
 * The emulator's built-in "model": a deterministic, seeded generator of English-ish sentences built
 * from the prompt's words. No ML; the same prompt and seed always give the same tokens. Every
 * sentence carries a multi-byte character early on (é, ï, —, emoji) so that streaming tests always
 * cross UTF-8 boundaries.
 *
 * @since 0.1.0
 * @internal
 */

/** @internal */
export interface Token {
  readonly id: number
  readonly text: string
  readonly logprob: number
  readonly special: boolean
}

/** @internal */
export type FinishReason = "length" | "eos_token" | "stop_sequence"

/** @internal */
export interface GenerationParams {
  readonly prompt: string
  /** Exactly this many tokens (unless a stop sequence hits); undefined: two sentences then EOS. */
  readonly maxNewTokens: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly seed: number | undefined
}

/** @internal */
export interface Generation {
  /** Generated text, without the prompt, cut before any stop sequence; excludes special tokens. */
  readonly text: string
  /** Tokens as streamed; the last one may be a special EOS token. */
  readonly tokens: ReadonlyArray<Token>
  readonly finishReason: FinishReason
  readonly generatedTokens: number
  readonly inputTokens: number
}

/** FNV-1a over UTF-16 code units: cheap, stable, good enough to seed a PRNG. */
export const hash32 = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const nouns = [
  "model",
  "language",
  "system",
  "network",
  "dataset",
  "pipeline",
  "question",
  "answer",
  "pattern",
  "signal",
  "context",
  "idea",
  "method",
  "result",
  "process",
  "memory",
  "story",
  "journey",
  "garden",
  "river",
  "library",
  "machine",
  "teacher",
  "experiment",
  "theory",
  "city",
  "bridge",
  "market"
]
const adjectives = [
  "simple",
  "careful",
  "robust",
  "curious",
  "elegant",
  "practical",
  "quiet",
  "bright",
  "modern",
  "gentle",
  "useful",
  "complex",
  "steady",
  "clever",
  "open"
]
const verbs = [
  "explains",
  "connects",
  "shapes",
  "improves",
  "describes",
  "supports",
  "reveals",
  "guides",
  "transforms",
  "measures",
  "builds",
  "follows",
  "inspires",
  "organizes"
]
const mbAdjectives = ["naïve", "blasé", "über", "soigné"]
const mbNouns = ["café", "résumé", "façade", "fiancé", "piñata", "crème", "jalapeño", "smörgåsbord"]
const emojis = ["😀", "🚀", "✨", "🌱"]

// Every template has its multi-byte slot within the first five words.
const templates: ReadonlyArray<ReadonlyArray<string>> = [
  ["{P}", "is", "a", "{mbadj}", "{noun}", "that", "{verb}", "the", "{noun}."],
  ["{P}", "—", "{adj}", "and", "{adj}", "—", "{verb}", "every", "{noun}."],
  ["The", "{mbnoun}", "of", "{p}", "{verb}", "a", "{adj}", "{noun}", "{emoji}"],
  ["In", "the", "{mbnoun},", "{p}", "{verb}", "the", "{adj}", "{noun}."],
  ["{P}", "{verb}", "the", "{noun},", "{mbadj}", "yet", "{adj}."]
]

const stopWords = new Set([
  "what",
  "which",
  "when",
  "where",
  "about",
  "tell",
  "write",
  "explain",
  "please",
  "with",
  "this",
  "that",
  "from",
  "have",
  "your",
  "into",
  "there",
  "their",
  "would",
  "could",
  "should",
  "does",
  "some",
  "give"
])

const keywords = (prompt: string): ReadonlyArray<string> => {
  const words = prompt.match(/[\p{L}][\p{L}\p{N}'-]*/gu) ?? []
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const w of words) {
    const lower = w.toLowerCase()
    if (w.length < 4 || stopWords.has(lower) || seen.has(lower)) continue
    seen.add(lower)
    out.push(w)
  }
  return out.length > 0 ? out : ["language", "model"]
}

const capitalize = (s: string): string => s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1)

/** Whitespace-separated word count, the emulator's notion of "input tokens". */
export const countWords = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length

const tokenOf = (word: string, index: number): Token => ({
  id: 3 + (hash32(word) % 31997),
  text: word,
  logprob: -Math.round((hash32(`${word}#${index}`) % 3000) / 3) / 1000,
  special: false
})

/** The EOS token appended when the model ends on its own (TGI reports it as `special`). */
export const eosToken: Token = { id: 2, text: "</s>", logprob: -0.0123, special: true }

const sentence = (rng: () => number, words: ReadonlyArray<string>): Array<string> => {
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(rng() * xs.length)]!
  const template = pick(templates)
  const filled = template.map((slot) => {
    const m = /^\{(\w+)\}(.*)$/.exec(slot)
    if (m === null) return slot
    const suffix = m[2] ?? ""
    switch (m[1]) {
      case "P":
        return capitalize(pick(words)) + suffix
      case "p":
        return pick(words) + suffix
      case "noun":
        return pick(nouns) + suffix
      case "adj":
        return pick(adjectives) + suffix
      case "verb":
        return pick(verbs) + suffix
      case "mbadj":
        return pick(mbAdjectives) + suffix
      case "mbnoun":
        return pick(mbNouns) + suffix
      default:
        return pick(emojis) + suffix
    }
  })
  return filled.map((w, i) => w === "a" && /^[aeiouü]/i.test(filled[i + 1] ?? "") ? "an" : w)
}

/**
 * Generates tokens for `params`. Tokens are words with a leading space, like TGI's.
 *
 * @internal
 */
export const generate = (params: GenerationParams): Generation => {
  const rng = mulberry32(hash32(`${params.seed ?? "-"}\u0000${params.prompt}`))
  const words = keywords(params.prompt)
  const wanted = params.maxNewTokens
  const raw: Array<string> = []
  if (wanted === undefined) {
    raw.push(...sentence(rng, words), ...sentence(rng, words))
  } else {
    while (raw.length < wanted) raw.push(...sentence(rng, words))
    raw.length = wanted
  }
  let tokens: Array<Token> = raw.map((w, i) => tokenOf(` ${w}`, i))
  let text = tokens.map((t) => t.text).join("")
  let finishReason: FinishReason = wanted === undefined ? "eos_token" : "length"
  let generatedTokens = tokens.length

  // Stop at the match that completes first, cutting the text just before it.
  let best: { start: number; end: number } | undefined
  for (const s of params.stop) {
    if (s.length === 0) continue
    const start = text.indexOf(s)
    if (start >= 0 && (best === undefined || start + s.length < best.end)) best = { start, end: start + s.length }
  }
  if (best !== undefined) {
    const kept: Array<Token> = []
    let offset = 0
    generatedTokens = 0
    for (const t of tokens) {
      const end = offset + t.text.length
      if (offset < best.end) generatedTokens++
      if (end <= best.start) kept.push(t)
      else if (offset < best.start) kept.push({ ...t, text: t.text.slice(0, best.start - offset) })
      offset = end
    }
    tokens = kept
    text = text.slice(0, best.start)
    finishReason = "stop_sequence"
  } else if (finishReason === "eos_token") {
    tokens = [...tokens, eosToken]
    generatedTokens = tokens.length
  }
  return { text, tokens, finishReason, generatedTokens, inputTokens: countWords(params.prompt) }
}
