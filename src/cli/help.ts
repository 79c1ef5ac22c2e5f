/**
 * The `--help` text: each option with its value, its description and its default. Bold headings
 * only on a terminal, and never under `NO_COLOR`, so that help piped to a file is plain text.
 *
 * @since 0.1.0
 * @internal
 */
import { type CommandSpec, helpOption, type OptionSpec } from "./args.js"

/** https://no-color.org: colour only on a terminal, and not when `NO_COLOR` is set to anything. */
export const useColor = (stdoutIsTTY: boolean, noColor: string | undefined): boolean =>
  stdoutIsTTY && (noColor === undefined || noColor === "")

const bold = (color: boolean) => (text: string) => color ? `\u001b[1m${text}\u001b[22m` : text

const WIDTH = 100

/** Words of `text` in lines of at most `width` characters. */
const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line.length === 0 ? word : `${line} ${word}`
    }
  }
  if (line.length > 0) lines.push(line)
  return lines
}

const optionLabel = (option: OptionSpec) =>
  `${option.short === undefined ? "    " : `-${option.short}, `}--${option.name}` +
  (option.kind === "flag" ? "" : ` ${option.placeholder ?? "VALUE"}`) +
  (option.kind === "repeated" ? " ..." : "")

const optionsTable = (options: ReadonlyArray<OptionSpec>, strong: (text: string) => string): Array<string> => {
  const labels = options.map(optionLabel)
  const column = Math.min(34, Math.max(...labels.map((label) => label.length)) + 2)
  const lines: Array<string> = []
  options.forEach((option, i) => {
    const label = labels[i]!
    const text = option.description + (option.default === undefined ? "" : ` (default: ${option.default})`)
    const body = wrap(text, WIDTH - 2 - column)
    const pad = " ".repeat(column)
    if (label.length + 2 > column) {
      lines.push(`  ${strong(label)}`)
      for (const line of body) lines.push(`  ${pad}${line}`)
    } else {
      lines.push(`  ${strong(label)}${" ".repeat(column - label.length)}${body[0] ?? ""}`)
      for (const line of body.slice(1)) lines.push(`  ${pad}${line}`)
    }
  })
  return lines
}

/** The help of one command. */
export const commandHelp = (spec: CommandSpec, color: boolean): string => {
  const strong = bold(color)
  const lines = [
    `effect-sagemaker ${spec.name}: ${spec.summary}`,
    "",
    `${strong("Usage:")} effect-sagemaker ${spec.name} [options] ${spec.operands}`.trimEnd()
  ]
  for (const paragraph of spec.details) lines.push("", ...wrap(paragraph, WIDTH))
  lines.push("", strong("Options:"), ...optionsTable([...spec.options, helpOption], strong))
  return `${lines.join("\n")}\n`
}

/** The help of the program: its commands. */
export const rootHelp = (commands: ReadonlyArray<CommandSpec>, version: string, color: boolean): string => {
  const strong = bold(color)
  const column = Math.max(...commands.map((command) => command.name.length)) + 2
  const lines = [
    `effect-sagemaker ${version}: text generation on Amazon SageMaker endpoints, and a local SageMaker Runtime emulator`,
    "",
    `${strong("Usage:")} effect-sagemaker <command> [options]`,
    "",
    strong("Commands:"),
    ...commands.map((command) =>
      `  ${strong(command.name)}${" ".repeat(column - command.name.length)}${command.summary}`
    ),
    "",
    strong("Options:"),
    "  -h, --help     Show this help (effect-sagemaker <command> --help: the command's options)",
    "      --version  Print the version",
    "",
    "Exit codes: 0 done, 1 an error, 2 a usage error (batch: or some items failed), 130 stopped by SIGINT,",
    "143 stopped by SIGTERM."
  ]
  return `${lines.join("\n")}\n`
}
