/**
 * The emulator's S3 endpoint with the real `@aws-sdk/client-s3`: objects round-trip byte for byte
 * (plain and aws-chunked uploads), headers and metadata are kept, errors are S3's, the
 * no-ListBucket mode answers 403, a bad aws-chunked body stores nothing, and signatures are
 * checked when the emulator has credentials.
 */
import {
  AccessDenied,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig
} from "@aws-sdk/client-s3"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { SignatureV4 } from "@smithy/signature-v4"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { createHash, randomBytes } from "node:crypto"
import * as Http from "node:http"
import { Readable } from "node:stream"
import { crc32 } from "node:zlib"
import * as AwsChunked from "../src/emulator/internal/awsChunked.js"
import * as S3Store from "../src/emulator/internal/s3Store.js"
import { Sha256 } from "../src/emulator/internal/sigv4.js"
import * as SagemakerEmulator from "../src/emulator/SagemakerEmulator.js"
import * as SagemakerAsync from "../src/SagemakerAsync.js"
import * as SagemakerClient from "../src/SagemakerClient.js"
import { buildBin, removeBin, spawnCli } from "./helpers/cli.js"
import type { SdkError } from "./helpers/emulator.js"

const region = "us-east-1"
const credentials = { accessKeyId: "AKIDS3TEST", secretAccessKey: "s3-test-secret" }

const s3 = (
  emulator: SagemakerEmulator.Service,
  config: Partial<S3ClientConfig> = {}
): Effect.Effect<S3Client, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      new S3Client({ endpoint: emulator.s3Url, forcePathStyle: true, region, credentials, maxAttempts: 1, ...config })
    ),
    (c) => Effect.sync(() => c.destroy())
  )

/** The SDK call's result, or what it threw. */
const attempt = <A>(call: (signal: AbortSignal) => Promise<A>): Effect.Effect<Either.Either<A, SdkError>> =>
  Effect.either(Effect.tryPromise({ try: call, catch: (e) => e as SdkError }))

const succeed = <A>(call: (signal: AbortSignal) => Promise<A>): Effect.Effect<A> =>
  Effect.flatMap(attempt(call), Either.match({ onLeft: (e) => Effect.die(e), onRight: Effect.succeed }))

const failure = <A>(call: (signal: AbortSignal) => Promise<A>): Effect.Effect<SdkError> =>
  Effect.flatMap(
    attempt(call),
    Either.match({ onLeft: Effect.succeed, onRight: () => Effect.die("expected the call to fail") })
  )

const getBytes = (c: S3Client, Bucket: string, Key: string) =>
  succeed(async (abortSignal) => {
    const out = await c.send(new GetObjectCommand({ Bucket, Key }), { abortSignal })
    return { out, bytes: await out.Body!.transformToByteArray() }
  })

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex")
const md5Etag = (bytes: Uint8Array | string): string => `"${createHash("md5").update(bytes).digest("hex")}"`
const crc32Base64 = (bytes: Uint8Array): string => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(bytes))
  return out.toString("base64")
}

/** Records the headers of every request the client sends (after the checksum middleware). */
const captureHeaders = (c: S3Client): Array<Record<string, string>> => {
  const seen: Array<Record<string, string>> = []
  c.middlewareStack.add(
    (next) => (args) => {
      seen.push({ ...(args.request as { readonly headers: Record<string, string> }).headers })
      return next(args)
    },
    { step: "finalizeRequest", name: "captureHeaders" }
  )
  return seen
}

interface RawResponse {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** One request over node:http, with headers (`Host` included) exactly as given. */
const raw = (
  url: string,
  request: {
    readonly method: string
    readonly path: string
    readonly headers: Record<string, string>
    readonly body?: Uint8Array | string
  }
): Effect.Effect<RawResponse> =>
  Effect.async((resume) => {
    const req = Http.request(`${url}${request.path}`, { method: request.method, headers: request.headers }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () =>
        resume(
          Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() })
        ))
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end(request.body)
  })

const ascii = (text: string): Buffer => Buffer.from(text, "latin1")

/** An aws-chunked body as the SDK frames it: `HEX\r\nDATA\r\n`…, `0\r\n`, trailers, `\r\n`. */
const awsChunked = (parts: ReadonlyArray<Uint8Array>, trailers: ReadonlyArray<string>): Buffer =>
  Buffer.concat([
    ...parts.flatMap((part) => [ascii(`${part.length.toString(16)}\r\n`), part, ascii("\r\n")]),
    ascii("0\r\n"),
    ...trailers.map((line) => ascii(`${line}\r\n`)),
    ascii("\r\n")
  ])

const chunkedHeaders = (host: string, body: Buffer, decodedLength: number): Record<string, string> => ({
  host,
  "content-type": "application/octet-stream",
  "content-encoding": "aws-chunked",
  "content-length": String(body.length),
  "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  "x-amz-trailer": "x-amz-checksum-crc32",
  "x-amz-decoded-content-length": String(decodedLength)
})

const hostOf = (url: string): string => new URL(url).host

describe("S3 endpoint: objects", () => {
  it.scopedLive("s3Url is its own loopback URL, without a trailing slash", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      assert.match(emulator.s3Url, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.notStrictEqual(emulator.s3Url, emulator.url)
    }))

  it.scopedLive("a taken S3 port fails the start, naming that port", () =>
    Effect.gen(function*() {
      const first = yield* SagemakerEmulator.make()
      const port = Number(new URL(first.s3Url).port)
      const error = yield* Effect.flip(SagemakerEmulator.make({ s3: { port } }))
      assert.strictEqual(error._tag, "EmulatorServeError")
      assert.strictEqual(error.port, port)
      assert.include(error.message, "EADDRINUSE")
    }))

  it.scopedLive("text: put and get round trip, with Content-Type, metadata, ETag and CRC32", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      const text = "Hello, S3 — ünïcödé and all\n"
      const put = yield* succeed((abortSignal) =>
        c.send(
          new PutObjectCommand({
            Bucket: "results",
            Key: "out/answer.json.out",
            Body: text,
            ContentType: "application/json",
            Metadata: { purpose: "test", "run-id": "42" }
          }),
          { abortSignal }
        )
      )
      const bytes = new TextEncoder().encode(text)
      assert.strictEqual(put.ETag, md5Etag(bytes))
      // The SDK sends x-amz-checksum-crc32 for a buffered body; S3 answers it back.
      assert.strictEqual(put.ChecksumCRC32, crc32Base64(bytes))
      const { bytes: got, out } = yield* getBytes(c, "results", "out/answer.json.out")
      assert.strictEqual(new TextDecoder().decode(got), text)
      assert.strictEqual(out.ContentType, "application/json")
      assert.strictEqual(out.ContentLength, bytes.length)
      assert.strictEqual(out.ETag, md5Etag(bytes))
      assert.deepStrictEqual(out.Metadata, { purpose: "test", "run-id": "42" })
      // Asked with x-amz-checksum-mode: ENABLED (the SDK's default), which the SDK then verifies.
      assert.strictEqual(out.ChecksumCRC32, crc32Base64(bytes))
      assert.instanceOf(out.LastModified, Date)
    }))

  it.scopedLive("1 MiB of random bytes, buffered and as an aws-chunked stream, come back identical", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      const seen = captureHeaders(c)
      const data = new Uint8Array(randomBytes(1024 * 1024))

      yield* succeed((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "bulk", Key: "buffered.bin", Body: data }), { abortSignal })
      )
      // A stream body goes aws-chunked, one chunk per stream chunk (64 KiB here), CRC32 trailer.
      const parts = Array.from({ length: 16 }, (_, i) => Buffer.from(data.subarray(i * 65536, (i + 1) * 65536)))
      const put = yield* succeed((abortSignal) =>
        c.send(
          new PutObjectCommand({
            Bucket: "bulk",
            Key: "streamed.bin",
            Body: Readable.from(parts),
            ContentLength: data.length
          }),
          { abortSignal }
        )
      )
      const streamed = seen[1]!
      assert.strictEqual(streamed["content-encoding"], "aws-chunked")
      assert.strictEqual(streamed["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
      assert.strictEqual(streamed["x-amz-trailer"], "x-amz-checksum-crc32")
      assert.strictEqual(streamed["x-amz-decoded-content-length"], String(data.length))
      assert.strictEqual(put.ChecksumCRC32, crc32Base64(data))
      assert.strictEqual(put.ETag, md5Etag(data))

      for (const key of ["buffered.bin", "streamed.bin"]) {
        const { bytes, out } = yield* getBytes(c, "bulk", key)
        assert.strictEqual(bytes.length, data.length, key)
        assert.strictEqual(sha256(bytes), sha256(data), key)
        assert.strictEqual(out.ContentLength, data.length)
      }
    }))

  it.scopedLive("a stream of chunks under 8 KiB is InvalidChunkSizeError, unless the SDK buffers it", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const small = () => Readable.from([Buffer.alloc(100, 1), Buffer.alloc(100, 2), Buffer.alloc(100, 3)])
      const c = yield* s3(emulator)
      const error = yield* failure((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "bulk", Key: "small", Body: small(), ContentLength: 300 }), {
          abortSignal
        })
      )
      assert.strictEqual(error.name, "InvalidChunkSizeError")
      assert.strictEqual(error.$metadata?.httpStatusCode, 400)
      assert.strictEqual(error["BadChunkSize"], "100")
      const missing = yield* failure((abortSignal) =>
        c.send(new GetObjectCommand({ Bucket: "bulk", Key: "small" }), { abortSignal })
      )
      assert.instanceOf(missing, NoSuchKey)

      const buffering = yield* s3(emulator, { requestStreamBufferSize: 65_536 })
      yield* succeed((abortSignal) =>
        buffering.send(new PutObjectCommand({ Bucket: "bulk", Key: "small", Body: small(), ContentLength: 300 }), {
          abortSignal
        })
      )
      const { bytes } = yield* getBytes(c, "bulk", "small")
      assert.deepStrictEqual([bytes.length, bytes[0], bytes[150], bytes[299]], [300, 1, 2, 3])
    }))

  it.scopedLive("HeadObject has GetObject's headers and no body; HEAD of a missing key is a bare 404", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      yield* succeed((abortSignal) =>
        c.send(
          new PutObjectCommand({
            Bucket: "heads",
            Key: "k",
            Body: "twelve bytes",
            ContentType: "text/plain",
            Metadata: { a: "b" }
          }),
          { abortSignal }
        )
      )
      const headed = yield* succeed((abortSignal) =>
        c.send(new HeadObjectCommand({ Bucket: "heads", Key: "k" }), { abortSignal })
      )
      const { out } = yield* getBytes(c, "heads", "k")
      assert.strictEqual(headed.ContentLength, 12)
      assert.strictEqual(headed.ContentType, "text/plain")
      assert.strictEqual(headed.ETag, md5Etag("twelve bytes"))
      assert.deepStrictEqual(headed.Metadata, { a: "b" })
      assert.strictEqual(headed.LastModified?.getTime(), out.LastModified?.getTime())

      const missing = yield* failure((abortSignal) =>
        c.send(new HeadObjectCommand({ Bucket: "heads", Key: "nope" }), { abortSignal })
      )
      assert.strictEqual(missing.name, "NotFound")
      assert.strictEqual(missing.$metadata?.httpStatusCode, 404)
      const bare = yield* raw(emulator.s3Url, { method: "HEAD", path: "/heads/nope", headers: {} })
      assert.strictEqual(bare.status, 404)
      assert.strictEqual(bare.body, "")
      assert.isString(bare.headers["x-amz-request-id"])
    }))

  it.scopedLive("a missing key is NoSuchKey (404) with S3's XML error body", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      const error = yield* failure((abortSignal) =>
        c.send(new GetObjectCommand({ Bucket: "results", Key: "out/missing.out" }), { abortSignal })
      )
      assert.instanceOf(error, NoSuchKey)
      assert.strictEqual(error.$metadata?.httpStatusCode, 404)
      assert.strictEqual(error.message, "The specified key does not exist.")
      const bare = yield* raw(emulator.s3Url, { method: "GET", path: "/results/out/missing.out", headers: {} })
      assert.strictEqual(bare.headers["content-type"], "application/xml")
      const requestId = bare.headers["x-amz-request-id"]
      assert.isString(requestId)
      assert.match(
        bare.body,
        new RegExp(
          `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist\\.</Message>` +
            `<Key>out/missing\\.out</Key><RequestId>${requestId}</RequestId><HostId>[^<]+</HostId></Error>$`
        )
      )
    }))

  it.scopedLive("without s3:ListBucket a missing key is 403 AccessDenied, and listing is refused", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make({ s3: { listBucket: false } })
      const c = yield* s3(emulator)
      const got = yield* failure((abortSignal) =>
        c.send(new GetObjectCommand({ Bucket: "results", Key: "pending.out" }), { abortSignal })
      )
      assert.instanceOf(got, AccessDenied)
      assert.strictEqual(got.$metadata?.httpStatusCode, 403)
      const headed = yield* failure((abortSignal) =>
        c.send(new HeadObjectCommand({ Bucket: "results", Key: "pending.out" }), { abortSignal })
      )
      assert.strictEqual(headed.$metadata?.httpStatusCode, 403)
      const listed = yield* failure((abortSignal) =>
        c.send(new ListObjectsV2Command({ Bucket: "results" }), { abortSignal })
      )
      assert.strictEqual(listed.name, "AccessDenied")
      assert.strictEqual(listed.$metadata?.httpStatusCode, 403)
      // Once written, the object is readable all the same.
      yield* succeed((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "results", Key: "pending.out", Body: "done" }), { abortSignal })
      )
      const { bytes } = yield* getBytes(c, "results", "pending.out")
      assert.strictEqual(new TextDecoder().decode(bytes), "done")
    }))

  it.scopedLive("DeleteObject removes the object; deleting a missing key succeeds too", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      yield* succeed((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "trash", Key: "x", Body: "x" }), { abortSignal })
      )
      const deleted = yield* succeed((abortSignal) =>
        c.send(new DeleteObjectCommand({ Bucket: "trash", Key: "x" }), { abortSignal })
      )
      assert.strictEqual(deleted.$metadata.httpStatusCode, 204)
      const error = yield* failure((abortSignal) =>
        c.send(new GetObjectCommand({ Bucket: "trash", Key: "x" }), { abortSignal })
      )
      assert.instanceOf(error, NoSuchKey)
      const again = yield* succeed((abortSignal) =>
        c.send(new DeleteObjectCommand({ Bucket: "trash", Key: "x" }), { abortSignal })
      )
      assert.strictEqual(again.$metadata.httpStatusCode, 204)
    }))

  it.scopedLive("keys with spaces, +, % and non-ASCII characters round trip and list as written", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      const key = "dir/a b+c%d ü €/😀.txt"
      yield* succeed((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "keys", Key: key, Body: "k" }), { abortSignal })
      )
      const { bytes } = yield* getBytes(c, "keys", key)
      assert.strictEqual(new TextDecoder().decode(bytes), "k")
      const listed = yield* succeed((abortSignal) =>
        c.send(new ListObjectsV2Command({ Bucket: "keys", Prefix: "dir/a b+" }), { abortSignal })
      )
      assert.deepStrictEqual(listed.Contents?.map((o) => o.Key), [key])
    }))

  it.scopedLive("Range: a byte range is 206 with Content-Range; one past the end is 416 InvalidRange", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      yield* succeed((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "ranges", Key: "digits", Body: "0123456789" }), { abortSignal })
      )
      const part = yield* succeed(async (abortSignal) => {
        const out = await c.send(new GetObjectCommand({ Bucket: "ranges", Key: "digits", Range: "bytes=2-5" }), {
          abortSignal
        })
        return { out, text: await out.Body!.transformToString() }
      })
      assert.strictEqual(part.text, "2345")
      assert.strictEqual(part.out.$metadata.httpStatusCode, 206)
      assert.strictEqual(part.out.ContentRange, "bytes 2-5/10")
      const tail = yield* succeed(async (abortSignal) => {
        const out = await c.send(new GetObjectCommand({ Bucket: "ranges", Key: "digits", Range: "bytes=-3" }), {
          abortSignal
        })
        return out.Body!.transformToString()
      })
      assert.strictEqual(tail, "789")
      const error = yield* failure((abortSignal) =>
        c.send(new GetObjectCommand({ Bucket: "ranges", Key: "digits", Range: "bytes=10-" }), { abortSignal })
      )
      assert.strictEqual(error.name, "InvalidRange")
      assert.strictEqual(error.$metadata?.httpStatusCode, 416)
    }))
})

describe("S3 endpoint: ListObjectsV2", () => {
  const keys = ["a/1", "a/2", "b/1", "c", "d"]
  const listAll = (
    c: S3Client,
    input: { readonly Prefix?: string; readonly Delimiter?: string; readonly MaxKeys?: number }
  ) =>
    Effect.gen(function*() {
      const pages: Array<ListObjectsV2CommandOutput> = []
      let token: string | undefined
      do {
        const page = yield* succeed((abortSignal) =>
          c.send(new ListObjectsV2Command({ Bucket: "listing", ...input, ContinuationToken: token }), { abortSignal })
        )
        pages.push(page)
        token = page.NextContinuationToken
        assert.strictEqual(page.IsTruncated, token !== undefined)
      } while (token !== undefined && pages.length < 10)
      return pages.map((page) => [
        ...(page.CommonPrefixes ?? []).map((p) => `${p.Prefix}*`),
        ...(page.Contents ?? []).map((o) => o.Key)
      ])
    })

  it.scopedLive("prefix, delimiter, pages of MaxKeys, start-after; each entry's size and ETag", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const c = yield* s3(emulator)
      for (const key of keys) {
        yield* succeed((abortSignal) =>
          c.send(new PutObjectCommand({ Bucket: "listing", Key: key, Body: `body of ${key}` }), { abortSignal })
        )
      }
      const all = yield* succeed((abortSignal) =>
        c.send(new ListObjectsV2Command({ Bucket: "listing" }), { abortSignal })
      )
      assert.deepStrictEqual(all.Contents?.map((o) => o.Key), keys)
      assert.strictEqual(all.KeyCount, 5)
      assert.strictEqual(all.Contents?.[0]?.Size, "body of a/1".length)
      assert.strictEqual(all.Contents?.[0]?.ETag, md5Etag("body of a/1"))
      assert.strictEqual(all.Contents?.[0]?.ChecksumAlgorithm?.[0], "CRC32")

      assert.deepStrictEqual(yield* listAll(c, { Prefix: "a/" }), [["a/1", "a/2"]])
      assert.deepStrictEqual(yield* listAll(c, { Delimiter: "/" }), [["a/*", "b/*", "c", "d"]])
      assert.deepStrictEqual(yield* listAll(c, { MaxKeys: 2 }), [["a/1", "a/2"], ["b/1", "c"], ["d"]])
      // A common prefix counts as one entry, and the next page skips its keys.
      assert.deepStrictEqual(yield* listAll(c, { Delimiter: "/", MaxKeys: 1 }), [["a/*"], ["b/*"], ["c"], ["d"]])
      const after = yield* succeed((abortSignal) =>
        c.send(new ListObjectsV2Command({ Bucket: "listing", StartAfter: "b/1" }), { abortSignal })
      )
      assert.deepStrictEqual(after.Contents?.map((o) => o.Key), ["c", "d"])
      const none = yield* succeed((abortSignal) =>
        c.send(new ListObjectsV2Command({ Bucket: "never-written" }), { abortSignal })
      )
      assert.strictEqual(none.KeyCount, 0)
      assert.isUndefined(none.Contents)
    }))
})

describe("S3 endpoint: aws-chunked bodies over raw HTTP", () => {
  const payload = Buffer.from(randomBytes(20_000))
  const parts = [payload.subarray(0, 10_000), payload.subarray(10_000)]

  it.scopedLive("a well-framed body stores exactly the payload, without its framing", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const body = awsChunked(parts, [`x-amz-checksum-crc32:${crc32Base64(payload)}`])
      const put = yield* raw(emulator.s3Url, {
        method: "PUT",
        path: "/chunks/good",
        headers: chunkedHeaders(hostOf(emulator.s3Url), body, payload.length),
        body
      })
      assert.strictEqual(put.status, 200, put.body)
      assert.strictEqual(put.headers["x-amz-checksum-crc32"], crc32Base64(payload))
      const got = yield* getBytes(yield* s3(emulator), "chunks", "good")
      assert.strictEqual(got.bytes.length, payload.length)
      assert.strictEqual(sha256(got.bytes), sha256(payload))
    }))

  const refused: ReadonlyArray<readonly [string, () => Buffer, number | undefined, number, string]> = [
    [
      "a wrong trailing CRC32",
      () => awsChunked(parts, ["x-amz-checksum-crc32:AAAAAA=="]),
      undefined,
      400,
      "<Code>BadDigest</Code><Message>The CRC32 you specified did not match the calculated checksum.</Message>"
    ],
    [
      "a decoded length other than x-amz-decoded-content-length",
      () => awsChunked(parts, [`x-amz-checksum-crc32:${crc32Base64(payload)}`]),
      payload.length + 1,
      400,
      "<Code>IncompleteBody</Code>"
    ],
    [
      "a chunk shorter than its size line",
      () => {
        const good = awsChunked(parts, [`x-amz-checksum-crc32:${crc32Base64(payload)}`])
        return Buffer.concat([ascii(`${(10_001).toString(16)}\r\n`), good.subarray(good.indexOf("\r\n") + 2)])
      },
      undefined,
      400,
      "<Code>IncompleteBody</Code>"
    ],
    [
      "no final empty line",
      () => awsChunked(parts, [`x-amz-checksum-crc32:${crc32Base64(payload)}`]).subarray(0, -2),
      undefined,
      400,
      "<Code>IncompleteBody</Code>"
    ],
    [
      "a trailer other than the announced one",
      () => awsChunked(parts, ["x-amz-checksum-sha256:" + createHash("sha256").update(payload).digest("base64")]),
      undefined,
      400,
      "<Code>MalformedTrailerError</Code>"
    ]
  ]
  for (const [name, body, decodedLength, status, code] of refused) {
    it.scopedLive(`${name}: ${status}, and nothing is stored`, () =>
      Effect.gen(function*() {
        const emulator = yield* SagemakerEmulator.make()
        const bytes = body()
        const put = yield* raw(emulator.s3Url, {
          method: "PUT",
          path: "/chunks/bad",
          headers: chunkedHeaders(hostOf(emulator.s3Url), bytes, decodedLength ?? payload.length),
          body: bytes
        })
        assert.strictEqual(put.status, status, put.body)
        assert.include(put.body, code)
        assert.strictEqual(put.headers["content-type"], "application/xml")
        const c = yield* s3(emulator)
        const error = yield* failure((abortSignal) =>
          c.send(new GetObjectCommand({ Bucket: "chunks", Key: "bad" }), { abortSignal })
        )
        assert.instanceOf(error, NoSuchKey)
      }))
  }

  it.scopedLive("virtual-hosted-style requests are refused with a pointer to forcePathStyle", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make()
      const response = yield* raw(emulator.s3Url, {
        method: "GET",
        path: "/key",
        headers: { host: `results.localhost:${new URL(emulator.s3Url).port}` }
      })
      assert.strictEqual(response.status, 400)
      assert.include(response.body, "<Code>InvalidRequest</Code>")
      assert.include(response.body, "forcePathStyle: true")
    }))
})

describe("S3 endpoint: signatures", () => {
  const signed = { credentials: [credentials] }

  it.scopedLive("with credentials, signed puts (buffered and aws-chunked) and gets succeed", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make(signed)
      const c = yield* s3(emulator)
      const data = new Uint8Array(randomBytes(40_000))
      yield* succeed((abortSignal) =>
        c.send(new PutObjectCommand({ Bucket: "signed", Key: "buffered key", Body: data }), { abortSignal })
      )
      yield* succeed((abortSignal) =>
        c.send(
          new PutObjectCommand({
            Bucket: "signed",
            Key: "streamed",
            Body: Readable.from([Buffer.from(data.subarray(0, 20_000)), Buffer.from(data.subarray(20_000))]),
            ContentLength: data.length
          }),
          { abortSignal }
        )
      )
      for (const key of ["buffered key", "streamed"]) {
        const { bytes } = yield* getBytes(c, "signed", key)
        assert.strictEqual(sha256(bytes), sha256(data), key)
      }
      const listed = yield* succeed((abortSignal) =>
        c.send(new ListObjectsV2Command({ Bucket: "signed", Prefix: "buffered " }), { abortSignal })
      )
      assert.deepStrictEqual(listed.Contents?.map((o) => o.Key), ["buffered key"])
    }))

  it.scopedLive("a wrong secret is 403 SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make(signed)
      const wrongSecret = yield* s3(emulator, {
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret" }
      })
      const put = yield* failure((abortSignal) =>
        wrongSecret.send(new PutObjectCommand({ Bucket: "signed", Key: "k", Body: "x" }), { abortSignal })
      )
      assert.strictEqual(put.name, "SignatureDoesNotMatch")
      assert.strictEqual(put.$metadata?.httpStatusCode, 403)
      assert.strictEqual(put["AWSAccessKeyId"], credentials.accessKeyId)
      assert.notInclude(JSON.stringify(put), credentials.secretAccessKey)
      const get = yield* failure((abortSignal) =>
        wrongSecret.send(new GetObjectCommand({ Bucket: "signed", Key: "k" }), { abortSignal })
      )
      assert.strictEqual(get.name, "SignatureDoesNotMatch")

      const unknown = yield* s3(emulator, { credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" } })
      const denied = yield* failure((abortSignal) =>
        unknown.send(new GetObjectCommand({ Bucket: "signed", Key: "k" }), { abortSignal })
      )
      assert.strictEqual(denied.name, "InvalidAccessKeyId")
      assert.strictEqual(denied.$metadata?.httpStatusCode, 403)

      const anonymous = yield* raw(emulator.s3Url, { method: "GET", path: "/signed/k", headers: {} })
      assert.strictEqual(anonymous.status, 403)
      assert.include(anonymous.body, "<Code>AccessDenied</Code>")

      // Nothing was stored by the refused put.
      const good = yield* s3(emulator)
      const missing = yield* failure((abortSignal) =>
        good.send(new GetObjectCommand({ Bucket: "signed", Key: "k" }), { abortSignal })
      )
      assert.instanceOf(missing, NoSuchKey)
    }))

  it.scopedLive("a signed hex x-amz-content-sha256 is checked against the body received", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make(signed)
      const url = new URL(emulator.s3Url)
      const signer = new SignatureV4({ service: "s3", region, credentials, sha256: Sha256, uriEscapePath: false })
      const send = (key: string, signedBody: string, sentBody: string) =>
        Effect.flatMap(
          Effect.promise(() =>
            signer.sign({
              method: "PUT",
              protocol: "http:",
              hostname: url.hostname,
              port: Number(url.port),
              path: `/signed/${key}`,
              query: {},
              headers: {
                host: url.host,
                "content-length": String(Buffer.byteLength(signedBody)),
                "x-amz-content-sha256": sha256(signedBody)
              },
              body: signedBody
            })
          ),
          (request) =>
            raw(emulator.s3Url, {
              method: "PUT",
              path: `/signed/${key}`,
              headers: request.headers,
              body: sentBody
            })
        )
      const honest = yield* send("honest", "hello", "hello")
      assert.strictEqual(honest.status, 200, honest.body)
      const tampered = yield* send("tampered", "hello", "HELLO")
      assert.strictEqual(tampered.status, 400)
      assert.include(tampered.body, "<Code>XAmzContentSHA256Mismatch</Code>")
      const c = yield* s3(emulator)
      const missing = yield* failure((abortSignal) =>
        c.send(new GetObjectCommand({ Bucket: "signed", Key: "tampered" }), { abortSignal })
      )
      assert.instanceOf(missing, NoSuchKey)
    }))

  it.scopedLive("a signature for another service is refused", () =>
    Effect.gen(function*() {
      const emulator = yield* SagemakerEmulator.make(signed)
      const url = new URL(emulator.s3Url)
      const signer = new SignatureV4({
        service: "sagemaker",
        region,
        credentials,
        sha256: Sha256,
        uriEscapePath: false
      })
      const request = yield* Effect.promise(() =>
        signer.sign({
          method: "GET",
          protocol: "http:",
          hostname: url.hostname,
          path: "/signed/k",
          query: {},
          headers: { host: url.host, "x-amz-content-sha256": sha256("") }
        })
      )
      const response = yield* raw(emulator.s3Url, { method: "GET", path: "/signed/k", headers: request.headers })
      assert.strictEqual(response.status, 400)
      assert.include(response.body, "<Code>AuthorizationHeaderMalformed</Code>")
    }))
})

describe("S3 helpers", () => {
  it("parseUri splits s3://bucket/key and says what is wrong with a bad URI", () => {
    assert.deepStrictEqual(
      S3Store.parseUri("s3://my-bucket/path/to/input.json"),
      Either.right({
        bucket: "my-bucket",
        key: "path/to/input.json"
      })
    )
    assert.deepStrictEqual(
      S3Store.parseUri("s3://my-bucket", { keyRequired: false }),
      Either.right({
        bucket: "my-bucket",
        key: ""
      })
    )
    const reasons = ["https://my-bucket/k", "s3:///k", "s3://My_Bucket/k", "s3://my-bucket", "s3://my-bucket/"].map((
      uri
    ) => Either.getLeft(S3Store.parseUri(uri)))
    assert.deepStrictEqual(reasons.map((r) => r._tag), ["Some", "Some", "Some", "Some", "Some"])
    assert.include(Either.getOrThrow(Either.flip(S3Store.parseUri("https://my-bucket/k"))), "must start with s3://")
    assert.include(Either.getOrThrow(Either.flip(S3Store.parseUri("s3://my-bucket/"))), "names no object key")
    assert.strictEqual(S3Store.formatUri({ bucket: "b-1", key: "a/b" }), "s3://b-1/a/b")
  })

  it("the store copies bodies, lower-cases metadata names and lists in UTF-8 byte order", () => {
    const store = S3Store.make()
    const body = new Uint8Array([1, 2, 3])
    const stored = store.put("bkt", "k", body, "text/plain", { "Run-Id": "7" })
    body[0] = 9
    assert.deepStrictEqual([...store.get("bkt", "k")!.body], [1, 2, 3])
    assert.deepStrictEqual(stored.metadata, { "run-id": "7" })
    assert.strictEqual(stored.lastModified.getMilliseconds(), 0)
    // U+FFFD sorts before U+1F600 in UTF-8, after it in UTF-16.
    store.put("bkt", "\u{1F600}", new Uint8Array())
    store.put("bkt", "\uFFFD", new Uint8Array())
    assert.deepStrictEqual(store.list("bkt"), ["k", "\uFFFD", "\u{1F600}"])
    assert.deepStrictEqual(store.list("bkt", "k"), ["k"])
    assert.isTrue(store.delete("bkt", "k"))
    assert.isFalse(store.delete("bkt", "k"))
    assert.isUndefined(store.get("other", "k"))
  })

  it("checksums: CRC32C and SHA-256 are verified; CRC64NVME is accepted unverified", () => {
    const body = new TextEncoder().encode("123456789")
    // The CRC-32C check value of "123456789" is 0xE3069283.
    assert.strictEqual(
      AwsChunked.checksumOf("x-amz-checksum-crc32c", body),
      Buffer.from("e3069283", "hex").toString("base64")
    )
    assert.strictEqual(
      AwsChunked.checksumOf("x-amz-checksum-crc32", body),
      Buffer.from("cbf43926", "hex").toString("base64")
    )
    assert.isUndefined(
      AwsChunked.verifyChecksum("x-amz-checksum-sha256", createHash("sha256").update(body).digest("base64"), body)
    )
    assert.strictEqual(
      AwsChunked.verifyChecksum("x-amz-checksum-crc32c", "AAAAAA==", body)?.message,
      "The CRC32C you specified did not match the calculated checksum."
    )
    assert.isUndefined(AwsChunked.verifyChecksum("x-amz-checksum-crc64nvme", "AAAAAAAAAAA=", body))
    assert.strictEqual(AwsChunked.verifyChecksum("x-amz-checksum-crc32", "not base64", body)?.code, "InvalidRequest")
  })
})

describe("effect-sagemaker emulator: the S3 endpoint", () => {
  beforeAll(() => void buildBin(), 60_000)
  afterAll(() => removeBin())

  it.scopedLive("prints the S3 URL, honours --s3-port and --no-list-bucket", () =>
    Effect.gen(function*() {
      const taken = yield* SagemakerEmulator.make()
      const port = Number(new URL(taken.s3Url).port)
      const clash = yield* spawnCli(["emulator", "--port", "0", "--s3-port", String(port)])
      const run = yield* clash.exit
      assert.strictEqual(run.code, 1, run.stderr)
      assert.include(run.stderr, `EmulatorServeError: The SageMaker emulator cannot listen on 127.0.0.1:${port}`)

      const badPort = yield* spawnCli(["emulator", "--port", "0", "--s3-port", "99999"])
      const refused = yield* badPort.exit
      assert.strictEqual(refused.code, 2, refused.stderr)
      assert.strictEqual(
        refused.stderr,
        "error: UsageError: --s3-port must be a whole number from 0 to 65535, got \"99999\"\n"
      )

      const cli = yield* spawnCli(["emulator", "--port", "0", "--no-list-bucket"])
      const [, s3Url] = yield* cli.waitFor("stderr", /S3 endpoint at (http:\/\/127\.0\.0\.1:\d+) /)
      assert.include(cli.stderr(), "callers lack s3:ListBucket")
      const response = yield* raw(s3Url!, { method: "GET", path: "/results/missing.out", headers: {} })
      assert.strictEqual(response.status, 403)
      assert.include(response.body, "<Code>AccessDenied</Code>")
      yield* cli.waitFor("stdout", /S3 GET \/results\/missing\.out 403/)
      yield* cli.kill("SIGTERM")
      yield* cli.exit
    }))

  it.scopedLive("--async-endpoints: those endpoints queue InvokeEndpointAsync and write results to its S3", () =>
    Effect.gen(function*() {
      const cli = yield* spawnCli(["emulator", "--port", "0", "--async-endpoints", "jobs", "--personality", "tgi"])
      const [, url] = yield* cli.waitFor("stderr", /listening on (http:\/\/127\.0\.0\.1:\d+) /)
      const [, s3Url] = yield* cli.waitFor("stderr", /S3 endpoint at (http:\/\/127\.0\.0\.1:\d+) /)
      assert.include(cli.stderr(), "Async endpoints: jobs")
      const client = SagemakerClient.layer({
        region: "us-east-1",
        credentials: { accessKeyId: Redacted.make("AKIDCLI"), secretAccessKey: Redacted.make("cli-secret") },
        endpointUrl: url!
      })
      const result = yield* SagemakerAsync.run("queued prompt", { max_new_tokens: 4 }).pipe(
        Effect.provide(
          SagemakerAsync.layer({ model: "jobs", s3EndpointUrl: s3Url!, poll: { firstDelay: 20 } }).pipe(
            Layer.provide(client)
          )
        )
      )
      assert.isTrue(result.replies[0]!.startsWith("queued prompt"), result.replies[0])
      yield* cli.waitFor(
        "stdout",
        /S3 GET \/sagemaker-us-east-1-123456789012\/async-endpoint-outputs\/jobs\/.+\.out 200/
      )
      yield* cli.kill("SIGTERM")
      yield* cli.exit
    }))
})
