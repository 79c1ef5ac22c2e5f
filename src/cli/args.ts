/**
 * The command line's argument parser: strict, so that a mistyped or misplaced flag is refused
 * with its name instead of being read as a prompt. Options stand anywhere among the arguments;
 * `--` ends them.
 *
 * @since 0.1.0
 * @internal
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"

/**
 * The command line was refused before anything ran (exit code 2). The message names the
 * offending flag or value.
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

export const usageError = (message: string): UsageError => new UsageError({ message })

/** `flag`: present or not; `value`: exactly one value; `repeated`: zero or more values. */
export type OptionKind = "flag" | "value" | "repeated"

export interface OptionSpec {
  /** The long name, without the dashes. */
  readonly name: string
  /** A one-letter alias, without the dash. */
  readonly short?: string | undefined
  readonly kind: OptionKind
  /** What the value is, as shown in the help (`NAME`, `KEY=VALUE`). */
  readonly placeholder?: string | undefined
  readonly description: string
  /** What applies when the option is not given, as shown in the help. */
  readonly default?: string | undefined
}

export interface CommandSpec {
  readonly name: string
  readonly summary: string
  /** The arguments after the options in the usage line, e.g. `[PROMPT | -]`. */
  readonly operands: string
  /** Paragraphs of help between the usage line and the options. */
  readonly details: ReadonlyArray<string>
  readonly options: ReadonlyArray<OptionSpec>
  /** At most this many arguments that are not options. */
  readonly maxOperands: number
  /** Why an extra argument is refused, e.g. that a prompt with spaces must be quoted. */
  readonly operandHint: string
  /** Options users try that this command names differently, and what to use instead. */
  readonly instead: Readonly<Record<string, string>>
}

export interface ParsedArgs {
  readonly help: boolean
  readonly flags: ReadonlySet<string>
  readonly values: ReadonlyMap<string, string>
  readonly repeated: ReadonlyMap<string, ReadonlyArray<string>>
  readonly operands: ReadonlyArray<string>
}

export const helpOption: OptionSpec = { name: "help", short: "h", kind: "flag", description: "Show this help" }

/** Edit distance, for "did you mean". */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      )
    }
    previous = current
  }
  return previous[b.length]!
}

const unknownOption = (spec: CommandSpec, token: string): UsageError => {
  const shown = token.startsWith("--") ? token.split("=")[0]! : token
  const name = shown.replace(/^-+/, "")
  const instead = spec.instead[name]
  if (instead !== undefined) return usageError(`unknown option ${shown} (use ${instead})`)
  const closest = spec.options
    .map((option) => ({ option, d: distance(name, option.name) }))
    .filter(({ d, option }) => d <= Math.max(1, Math.floor(option.name.length / 3)))
    .sort((x, y) => x.d - y.d)[0]
  if (closest !== undefined) return usageError(`unknown option ${shown} (did you mean --${closest.option.name}?)`)
  if (!token.startsWith("--") && spec.maxOperands > 0 && !/^-[a-zA-Z]$/.test(token)) {
    return usageError(`unknown option ${shown} (an argument that starts with - goes after --)`)
  }
  return usageError(`unknown option ${shown} (effect-sagemaker ${spec.name} --help lists the options)`)
}

const display = (option: OptionSpec) => `--${option.name}`

/**
 * Reads `argv` (the arguments after the command name) against `spec`. `--name value`,
 * `--name=value` and `-x` forms; a value never starts with `--` (write `--name=--text` for that)
 * and never is an option's short form. `--help` anywhere wins over any other problem.
 */
export const parse = (spec: CommandSpec, argv: ReadonlyArray<string>): Either.Either<ParsedArgs, UsageError> => {
  const options = [...spec.options, helpOption]
  const byName = new Map(options.map((option) => [option.name, option]))
  const byShort = new Map(options.flatMap((option) => option.short === undefined ? [] : [[option.short, option]]))
  const flags = new Set<string>()
  const values = new Map<string, string>()
  const repeated = new Map<string, Array<string>>()
  const operands: Array<string> = []
  let problem: UsageError | undefined
  const refuse = (error: UsageError) => {
    problem ??= error
  }
  const isOptionToken = (token: string) => token.startsWith("--") || byShort.has(token.slice(1))

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === "--") {
      operands.push(...argv.slice(i + 1))
      break
    }
    if (token === "-" || !token.startsWith("-")) {
      operands.push(token)
      continue
    }
    let option: OptionSpec | undefined
    let inline: string | undefined
    if (token.startsWith("--")) {
      const at = token.indexOf("=")
      option = byName.get(at === -1 ? token.slice(2) : token.slice(2, at))
      inline = at === -1 ? undefined : token.slice(at + 1)
    } else {
      option = byShort.get(token.slice(1))
    }
    if (option === undefined) {
      refuse(unknownOption(spec, token))
      continue
    }
    if (option.kind === "flag") {
      if (inline !== undefined) refuse(usageError(`${display(option)} takes no value, got ${token}`))
      else flags.add(option.name)
      continue
    }
    let value = inline
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined) {
        refuse(usageError(`${display(option)} needs a value (${option.placeholder ?? "VALUE"})`))
        continue
      }
      if (next !== "-" && isOptionToken(next)) {
        refuse(
          usageError(`${display(option)} needs a value (${option.placeholder ?? "VALUE"}), got the option ${next}`)
        )
        continue
      }
      value = next
      i++
    }
    if (option.kind === "value") {
      if (values.has(option.name)) refuse(usageError(`${display(option)} is given more than once`))
      else values.set(option.name, value)
    } else {
      const list = repeated.get(option.name) ?? []
      list.push(value)
      repeated.set(option.name, list)
    }
  }

  const help = flags.has("help")
  if (!help && problem === undefined && operands.length > spec.maxOperands) {
    problem = usageError(`unexpected argument "${operands[spec.maxOperands]}": ${spec.operandHint}`)
  }
  if (!help && problem !== undefined) return Either.left(problem)
  return Either.right({ help, flags, values, repeated, operands })
}
