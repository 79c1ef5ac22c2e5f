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
  /**
   * At most this many tokens. Free text then has exactly this many (unless a stop sequence hits);
   * forced text (`text`) ends with EOS when it fits. Undefined: two sentences (or the forced text),
   * then EOS.
   */
  readonly maxNewTokens: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly seed: number | undefined
  /** Words the answer starts with (a quoted tool result), then the generated sentences. */
  readonly prefix?: string | undefined
  /** The whole answer, tokenized as given (JSON, tool arguments), instead of generated sentences. */
  readonly text?: string | undefined
  /** Sentences generated when no `maxNewTokens` is given. Default 2. */
  readonly sentences?: number | undefined
  /** Varies the generator for a second text from the same prompt (the reasoning). */
  readonly salt?: string | undefined
}

/** @internal */
export interface Generation {
  /**
   * Tokens as generated: through the token that completed a stop sequence (whose text may run past
   * it), and a special EOS token last when the model ended on its own.
   */
  readonly tokens: ReadonlyArray<Token>
  readonly finishReason: FinishReason
  /** The stop sequence that ended generation, and where it starts in the joined token texts. */
  readonly stop: { readonly sequence: string; readonly start: number } | undefined
  /** Tokens generated, EOS included. */
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

const tokensOf = (pieces: ReadonlyArray<string>, offset = 0): Array<Token> =>
  pieces.map((w, i) => tokenOf(w, offset + i))

/** Words with their leading whitespace, as TGI's tokens are. @internal */
export const proseTokens = (text: string): ReadonlyArray<string> => text.match(/\s*\S+/gu) ?? []

/**
 * JSON text cut into small pieces the way a tokenizer would: punctuation alone, string literals
 * in runs of a few characters (never inside an escape or a surrogate pair). The pieces concatenate to
 * `text`.
 *
 * @internal
 */
export const jsonTokens = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const re = /[{}[\],:]|"(?:[^"\\]|\\.)*"|[^{}[\],:"]+/gu
  for (const m of text.match(re) ?? []) {
    if (!m.startsWith("\"")) {
      out.push(m)
      continue
    }
    const units = m.match(/\\u[0-9a-fA-F]{4}|\\.|[\s\S]/gu) ?? []
    for (let i = 0; i < units.length; i += 4) out.push(units.slice(i, i + 4).join(""))
  }
  return out
}

/** Where the stop sequence that completes first ends generation, in `text`. */
const firstStop = (
  text: string,
  stop: ReadonlyArray<string>
): { readonly sequence: string; readonly start: number; readonly end: number } | undefined => {
  let best: { sequence: string; start: number; end: number } | undefined
  for (const s of stop) {
    if (s.length === 0) continue
    const start = text.indexOf(s)
    if (start >= 0 && (best === undefined || start + s.length < best.end)) {
      best = { sequence: s, start, end: start + s.length }
    }
  }
  return best
}

/**
 * Generates tokens for `params`. Tokens are words with a leading space, like TGI's.
 *
 * @internal
 */
export const generate = (params: GenerationParams): Generation => {
  const salt = params.salt === undefined ? "" : `${params.salt}\u0000`
  const rng = mulberry32(hash32(`${params.seed ?? "-"}\u0000${salt}${params.prompt}`))
  const words = keywords(params.prompt)
  const wanted = params.maxNewTokens
  let finishReason: FinishReason
  let tokens: Array<Token>
  if (params.text !== undefined) {
    const pieces = jsonTokens(params.text)
    if (wanted !== undefined && pieces.length >= wanted) {
      tokens = tokensOf(pieces.slice(0, wanted))
      finishReason = "length"
    } else {
      tokens = [...tokensOf(pieces), eosToken]
      finishReason = "eos_token"
    }
    return {
      tokens,
      finishReason,
      stop: undefined,
      generatedTokens: tokens.length,
      inputTokens: countWords(params.prompt)
    }
  }
  const raw = [...proseTokens(params.prefix ?? "")]
  const generated: Array<string> = []
  if (wanted === undefined) {
    const sentences = params.sentences ?? (params.prefix === undefined ? 2 : 1)
    for (let i = 0; i < sentences; i++) generated.push(...sentence(rng, words))
  } else {
    while (raw.length + generated.length < wanted) generated.push(...sentence(rng, words))
  }
  const pieces = [...raw, ...generated.map((w) => ` ${w}`)]
  if (wanted !== undefined) pieces.length = Math.min(pieces.length, wanted)
  if (raw.length > 0 && pieces.length > 0 && !/^\s/u.test(pieces[0]!)) pieces[0] = ` ${pieces[0]}`
  tokens = tokensOf(pieces)
  finishReason = wanted === undefined ? "eos_token" : "length"

  // Generation stops after the token that completes the first stop sequence.
  const text = tokens.map((t) => t.text).join("")
  const hit = firstStop(text, params.stop)
  if (hit !== undefined) {
    let offset = 0
    let kept = 0
    for (const t of tokens) {
      kept++
      offset += t.text.length
      if (offset >= hit.end) break
    }
    tokens = tokens.slice(0, kept)
    return {
      tokens,
      finishReason: "stop_sequence",
      stop: { sequence: hit.sequence, start: hit.start },
      generatedTokens: tokens.length,
      inputTokens: countWords(params.prompt)
    }
  }
  if (finishReason === "eos_token") tokens = [...tokens, eosToken]
  return {
    tokens,
    finishReason,
    stop: undefined,
    generatedTokens: tokens.length,
    inputTokens: countWords(params.prompt)
  }
}

/**
 * The tokens a server that drops the stop sequence shows (vLLM): cut just before it, the cut token
 * keeping its head.
 *
 * @internal
 */
export const cutAtStop = (g: Generation): ReadonlyArray<Token> => {
  if (g.stop === undefined) return g.tokens
  const out: Array<Token> = []
  let offset = 0
  for (const t of g.tokens) {
    const end = offset + t.text.length
    if (end <= g.stop.start) out.push(t)
    else if (offset < g.stop.start) out.push({ ...t, text: t.text.slice(0, g.stop.start - offset) })
    else out.push({ ...t, text: "" })
    offset = end
  }
  // The token that completed the sequence still counts, with what is left of its text.
  return out.filter((t, i) => i < out.length - 1 ? t.text.length > 0 : true)
}

/** The text of `tokens`, special tokens left out. @internal */
export const textOf = (tokens: ReadonlyArray<Token>): string =>
  tokens.filter((t) => !t.special).map((t) => t.text).join("")

/** A short English word chosen by `key`: what the model writes into a JSON string. @internal */
export const wordFor = (key: string): string => nouns[hash32(key) % nouns.length]!
