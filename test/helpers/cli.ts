/**
 * The `effect-sagemaker` bin run in a child process, as a user runs it: built to JavaScript once
 * (`node dist/cli/bin.js`, as installed), with standard input, with signals, in an environment
 * stripped of the host's AWS settings (so that nothing reaches AWS, the instance metadata service
 * or a real profile). Two secrets are planted in every environment; no output may contain them.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = path.join(import.meta.dirname, "..", "..")
let built: string | undefined

/**
 * Builds `src/` into a temporary package next to the checkout's `node_modules` (so that its
 * imports resolve), with its `package.json` (the bin reads its version there). Emit only: the
 * typecheck is the job of `npm run typecheck`.
 */
export const buildBin = (): string => {
  if (built !== undefined) return built
  const cache = path.join(root, "node_modules", ".cache")
  fs.mkdirSync(cache, { recursive: true })
  const dir = fs.mkdtempSync(path.join(cache, "effect-sagemaker-cli-"))
  execFileSync(process.execPath, [
    path.join(root, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    path.join(root, "tsconfig.build.json"),
    "--outDir",
    path.join(dir, "dist"),
    "--noCheck",
    "--declaration",
    "false",
    "--declarationMap",
    "false",
    "--sourceMap",
    "false"
  ], { cwd: root, stdio: "pipe" })
  fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"))
  built = dir
  return dir
}

export const removeBin = (): void => {
  if (built !== undefined) fs.rmSync(built, { recursive: true, force: true })
  built = undefined
}

/** Planted in the environment of every run: never to appear in any output. */
export const PLANTED_SECRET = "planted-secret-key-6c1f0b"
export const PLANTED_TOKEN = "planted-session-token-93ad2e"

/** No planted secret in any of `outputs` (a run's stdout and stderr, or a file's text). */
export const assertNoSecret = (
  ...outputs: ReadonlyArray<string | { readonly stdout: string; readonly stderr: string }>
): void => {
  for (const output of outputs) {
    for (const text of typeof output === "string" ? [output] : [output.stdout, output.stderr]) {
      for (const secret of [PLANTED_SECRET, PLANTED_TOKEN]) assert.notInclude(text, secret)
    }
  }
}

/** Static keys for the emulator (which checks no signature unless asked). */
export const credentials = {
  AWS_ACCESS_KEY_ID: "AKIDCLI",
  AWS_SECRET_ACCESS_KEY: PLANTED_SECRET,
  AWS_REGION: "us-east-1"
}

export interface CliExit {
  /** The exit code; `null` when a signal ended the process without it choosing a code. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  readonly env?: Record<string, string> | undefined
  /** Written to the child's stdin, which is then closed; by default stdin is closed at once. */
  readonly stdin?: string | Uint8Array | undefined
}

const environment = (env: Record<string, string>): Record<string, string> => {
  const clean: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(AWS_|SAGEMAKER_)/.test(key) && key !== "NO_COLOR" && key !== "FORCE_COLOR") {
      clean[key] = value
    }
  }
  const nowhere = path.join(os.tmpdir(), "effect-sagemaker-cli-test-no-such-file")
  return {
    ...clean,
    AWS_CONFIG_FILE: nowhere,
    AWS_SHARED_CREDENTIALS_FILE: nowhere,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SESSION_TOKEN: PLANTED_TOKEN,
    ...env
  }
}

export interface CliProcess {
  /** Everything written so far. */
  readonly stdout: () => string
  readonly stderr: () => string
  /** Waits until `stream` matches `pattern`; fails the test (by defect) if the process exits first. */
  readonly waitFor: (stream: "stdout" | "stderr", pattern: RegExp) => Effect.Effect<RegExpMatchArray>
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** The exit, once the process ended. */
  readonly exit: Effect.Effect<CliExit>
}

/** The exit code, and stderr is exactly one line matching `line`; no secret in the output. */
export const assertFailure = (run: CliExit, code: number, line: string | RegExp): void => {
  assert.strictEqual(run.code, code, run.stderr)
  assert.match(run.stderr, /^[^\n]+\n$/, "stderr is one line")
  const only = run.stderr.slice(0, -1)
  if (typeof line === "string") assert.strictEqual(only, line)
  else assert.match(only, line)
  assertNoSecret(run)
}

/** Starts the bin; the scope kills it if it still runs. */
export const spawnCli = (
  args: ReadonlyArray<string>,
  options: CliOptions = {}
): Effect.Effect<CliProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [path.join(buildBin(), "dist", "cli", "bin.js"), ...args], {
        env: environment(options.env ?? {}),
        stdio: ["pipe", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      const listeners = new Set<() => void>()
      const notify = () => {
        for (const listener of listeners) listener()
      }
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        stdout += text
        notify()
      })
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        stderr += text
        notify()
      })
      const exited = new Promise<CliExit>((resolve) => {
        child.on("close", (code) => {
          notify()
          resolve({ code, stdout, stderr })
        })
      })
      let done = false
      void exited.then(() => {
        done = true
        notify()
      })
      child.stdin.on("error", () => {
        // The CLI may exit before reading all of its input.
      })
      child.stdin.end(options.stdin)
      const read = (stream: "stdout" | "stderr") => stream === "stdout" ? stdout : stderr
      const waitFor = (stream: "stdout" | "stderr", pattern: RegExp) =>
        Effect.async<RegExpMatchArray>((resume) => {
          const check = () => {
            const match = read(stream).match(pattern)
            if (match !== null) {
              listeners.delete(check)
              resume(Effect.succeed(match))
            } else if (done) {
              listeners.delete(check)
              resume(Effect.dieMessage(`exited before ${stream} matched ${pattern}: ${stdout}\n${stderr}`))
            }
          }
          listeners.add(check)
          check()
          return Effect.sync(() => listeners.delete(check))
        })
      return {
        child,
        process: {
          stdout: () => stdout,
          stderr: () => stderr,
          waitFor,
          kill: (signal: NodeJS.Signals) => Effect.sync(() => void child.kill(signal)),
          exit: Effect.promise(() => exited)
        } satisfies CliProcess
      }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
  ).pipe(Effect.map(({ process }) => process))

/** Runs the bin to its end. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Effect.Effect<CliExit> =>
  Effect.scoped(Effect.flatMap(spawnCli(args, options), (cli) => cli.exit)).pipe(
    Effect.timeoutFail({
      duration: "60 seconds",
      onTimeout: () => new Error(`the CLI did not exit: ${args.join(" ")}`)
    }),
    Effect.orDie
  )
