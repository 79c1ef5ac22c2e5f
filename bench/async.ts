/**
 * Async inference at scale: N requests to an async endpoint of the emulator whose model takes
 * `model-ms` each on `concurrency` instances, submitted and awaited by `SagemakerAsync.run` in a
 * client process of its own (bench/asyncClient.ts). Reports the wall time against the ideal
 * (N × model time / concurrency), the S3 requests per result (counted at the emulator's S3
 * endpoint), and the client's CPU per result.
 *
 *   npm run bench -- --async [--items 1000] [--model-ms 2000] [--concurrency 50]
 */
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import { argValue } from "./shared.js"

const argv = process.argv.slice(2)
const items = Number(argValue(argv, "--items") ?? "1000")
const modelMs = Number(argValue(argv, "--model-ms") ?? "2000")
const concurrency = Number(argValue(argv, "--concurrency") ?? "50")
const here = dirname(fileURLToPath(import.meta.url))

export interface AsyncReport {
  readonly items: number
  readonly modelMs: number
  readonly concurrency: number
  readonly wallMs: number
  readonly idealMs: number
  readonly s3Requests: Record<string, number>
  readonly s3PerResult: number
  readonly clientCpuMsPerResult: number
  readonly failures: number
}

interface ClientReport {
  readonly wallMs: number
  readonly cpuMs: number
  readonly failures: number
}

const runClient = (url: string, s3Url: string) =>
  Effect.async<ClientReport, Error>((resume) => {
    const child = execFile(
      process.execPath,
      [join(here, "asyncClient.js"), url, s3Url, String(items)],
      { env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" }, timeout: 600_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split("\n").pop() ?? ""
        if (error !== null || !last.startsWith("{")) {
          resume(Effect.fail(new Error(`the async client failed: ${error?.message ?? ""}\n${stderr.slice(-2000)}`)))
        } else {
          resume(Effect.succeed(JSON.parse(last) as ClientReport))
        }
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const program = Effect.gen(function*() {
  const s3Requests: Record<string, number> = {}
  const emulator = yield* SagemakerEmulator.make({
    asyncEndpoints: ["bench-async"],
    async: { concurrency },
    endpoints: {
      "bench-async": {
        responder: (request) =>
          Effect.as(Effect.sleep(modelMs), {
            body: JSON.stringify([{ generated_text: `${request.text.length} bytes answered` }])
          })
      }
    },
    log: (line) =>
      Effect.sync(() => {
        if (!line.startsWith("S3 ")) return
        // A list is a GET of the bucket itself (the log drops the query).
        const [, method, path] = line.split(" ")
        const kind = method === "GET" && /^\/[^/]+\/$/.test(path ?? "") ? "LIST" : method!
        s3Requests[kind] = (s3Requests[kind] ?? 0) + 1
      }),
    recordLimit: 10
  })
  const client = yield* runClient(emulator.url, emulator.s3Url)
  const total = Object.values(s3Requests).reduce((a, b) => a + b, 0)
  const report: AsyncReport = {
    items,
    modelMs,
    concurrency,
    wallMs: client.wallMs,
    idealMs: (items * modelMs) / concurrency,
    s3Requests,
    s3PerResult: total / items,
    clientCpuMsPerResult: client.cpuMs / items,
    failures: client.failures
  }
  return report
})

const report = await Effect.runPromise(Effect.scoped(program))
const lines = [
  `### Async inference: ${report.items} requests, ${report.modelMs} ms of model time each, ${report.concurrency} instances`,
  "",
  "| figure | measured | target |",
  "|---|---:|---:|",
  `| wall time | ${(report.wallMs / 1000).toFixed(1)} s (${(report.wallMs / report.idealMs).toFixed(2)}× the ideal ${
    (report.idealMs / 1000).toFixed(0)
  } s) | – |`,
  `| S3 requests per result | ${report.s3PerResult.toFixed(2)} (${
    Object.entries(report.s3Requests).map(([k, v]) => `${k} ${v}`).join(", ")
  }) | ≤ 3: **${report.s3PerResult <= 3 ? "met" : "missed"}** |`,
  `| client CPU per result | ${report.clientCpuMsPerResult.toFixed(2)} ms | – |`,
  `| failures | ${report.failures} | 0 |`
]
process.stderr.write(`${lines.join("\n")}\n`)
process.stdout.write(`${JSON.stringify(report)}\n`)
