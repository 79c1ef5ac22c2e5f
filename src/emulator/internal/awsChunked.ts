/**
 * `Content-Encoding: aws-chunked` bodies, as the JS SDK sends a PutObject whose body is a stream:
 * `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `x-amz-trailer: x-amz-checksum-crc32`,
 * `x-amz-decoded-content-length`, then `HEX\r\nDATA\r\n`… `0\r\n` `x-amz-checksum-crc32:B64\r\n` `\r\n`
 * (aws/aws-sdk-js-v3 `packages-internal/checksums`, `flexibleChecksumsMiddleware`, as published in
 * @aws-sdk/checksums 3.1002.6; smithy-lang/smithy-typescript `packages/core`, serde
 * `util-stream/getAwsChunkedEncodingStream`, as published in @smithy/core 3.41.1). Decoding yields
 * the object's bytes or S3's error, never bytes with the framing inside.
 *
 * Also the checksums S3 verifies (`x-amz-checksum-*`, as a header or a trailer, and `Content-MD5`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { crc32 } from "node:zlib"

/** An S3 error: status, `Code`, `Message` and the extra elements of its XML body. @internal */
export interface S3Error {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly fields?: Readonly<Record<string, string>> | undefined
}

/** @internal */
export interface Decoded {
  readonly body: Uint8Array
  /** The trailing headers by lower-cased name (`x-amz-checksum-crc32`, `x-amz-trailer-signature`). */
  readonly trailers: Readonly<Record<string, string>>
}

/** S3 refuses chunks below 8 KiB except the last one (aws/aws-sdk-js-v3#6949). */
const minChunkBytes = 8192

const CR = 13
const LF = 10

const incomplete = (): S3Error => ({
  status: 400,
  code: "IncompleteBody",
  message: "The request body terminated unexpectedly"
})

const malformedTrailer = (): S3Error => ({
  status: 400,
  code: "MalformedTrailerError",
  message: "The request contained trailing data that was not well-formed or did not conform to our published schema."
})

/** The index of the next CRLF at or after `from`, or -1. */
const lineEnd = (bytes: Uint8Array, from: number): number => {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] === CR && bytes[i + 1] === LF) return i
  }
  return -1
}

const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1")

/** `true` when the request's body is aws-chunked (`Content-Encoding` may list other codings before it). */
export const isAwsChunked = (headers: Readonly<Record<string, string>>): boolean =>
  (headers["content-encoding"] ?? "").split(",").some((coding) => coding.trim().toLowerCase() === "aws-chunked")

/**
 * Decodes an aws-chunked body, checks its length against `x-amz-decoded-content-length`, its
 * trailers against `x-amz-trailer`, and verifies a trailing checksum that {@link checksumOf} can
 * compute. Chunk signatures (`;chunk-signature=…` of the signed streaming variants) are skipped,
 * not verified: the S3 handler refuses signed streaming when it checks signatures.
 *
 * @internal
 */
export const decode = (
  raw: Uint8Array,
  headers: Readonly<Record<string, string>>
): Either.Either<Decoded, S3Error> => {
  const declaredText = headers["x-amz-decoded-content-length"]
  if (declaredText === undefined || !/^\d+$/.test(declaredText)) {
    return Either.left({
      status: 411,
      code: "MissingContentLength",
      message: "You must provide the Content-Length HTTP header."
    })
  }
  const declared = Number(declaredText)
  const chunks: Array<Uint8Array> = []
  let size = 0
  let pos = 0
  let index = 0
  let previous: number | undefined
  for (;;) {
    const end = lineEnd(raw, pos)
    // A size line is hex digits and optional `;name=value` extensions; 64 bytes is ample.
    if (end < 0 || end - pos > 256) return Either.left(incomplete())
    const line = latin1(raw, pos, end)
    const hex = line.split(";")[0]!.trim()
    if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) return Either.left(incomplete())
    const length = parseInt(hex, 16)
    index++
    if (length > 0 && previous !== undefined && previous < minChunkBytes) {
      return Either.left({
        status: 400,
        code: "InvalidChunkSizeError",
        message: `Only the last chunk is allowed to have a size less than ${minChunkBytes} bytes`,
        fields: { Chunk: String(index), BadChunkSize: String(previous) }
      })
    }
    pos = end + 2
    if (length === 0) break
    if (pos + length + 2 > raw.length || raw[pos + length] !== CR || raw[pos + length + 1] !== LF) {
      return Either.left(incomplete())
    }
    chunks.push(raw.subarray(pos, pos + length))
    size += length
    previous = length
    pos += length + 2
  }
  // Trailers: `name:value\r\n` lines, then an empty line that ends the body.
  const trailers: Record<string, string> = {}
  for (;;) {
    const end = lineEnd(raw, pos)
    if (end < 0) return Either.left(incomplete())
    if (end === pos) {
      pos += 2
      break
    }
    const line = latin1(raw, pos, end)
    const colon = line.indexOf(":")
    if (colon <= 0) return Either.left(malformedTrailer())
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    pos = end + 2
  }
  if (pos !== raw.length) return Either.left(incomplete())
  if (size !== declared) {
    return Either.left({
      status: 400,
      code: "IncompleteBody",
      message: "You did not provide the number of bytes specified by the Content-Length HTTP header."
    })
  }
  const announced = (headers["x-amz-trailer"] ?? "").split(",").map((name) => name.trim().toLowerCase()).filter((
    name
  ) => name.length > 0)
  const sent = Object.keys(trailers).filter((name) => name !== "x-amz-trailer-signature")
  if (announced.some((name) => trailers[name] === undefined) || sent.some((name) => !announced.includes(name))) {
    return Either.left(malformedTrailer())
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.length
  }
  for (const [name, value] of Object.entries(trailers)) {
    if (name.startsWith("x-amz-checksum-")) {
      const bad = verifyChecksum(name, value, body, "trailing header")
      if (bad !== undefined) return Either.left(bad)
    }
  }
  return Either.right({ body, trailers })
}

/** The algorithm's name as S3 spells it in messages and `x-amz-sdk-checksum-algorithm`. */
const algorithms: Readonly<Record<string, { readonly name: string; readonly bytes: number }>> = {
  "x-amz-checksum-crc32": { name: "CRC32", bytes: 4 },
  "x-amz-checksum-crc32c": { name: "CRC32C", bytes: 4 },
  "x-amz-checksum-crc64nvme": { name: "CRC64NVME", bytes: 8 },
  "x-amz-checksum-sha1": { name: "SHA1", bytes: 20 },
  "x-amz-checksum-sha256": { name: "SHA256", bytes: 32 }
}

/** The algorithm (`CRC32`) of a checksum header name (`x-amz-checksum-crc32`), if S3 knows it. @internal */
export const algorithmOf = (header: string): string | undefined => algorithms[header]?.name

const uint32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n >>> 0)
  return out
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), which node:zlib does not offer. */
const crc32cTable = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

const crc32c = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = crc32cTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/**
 * The base64 checksum of `body` for a checksum header name, or `undefined` for one not computed
 * here: CRC64NVME (S3's default for objects stored without a checksum) would need a 64-bit CRC
 * table of its own, so it is accepted as sent, unverified.
 *
 * @internal
 */
export const checksumOf = (header: string, body: Uint8Array): string | undefined => {
  switch (header) {
    case "x-amz-checksum-crc32":
      return Buffer.from(uint32(crc32(body))).toString("base64")
    case "x-amz-checksum-crc32c":
      return Buffer.from(uint32(crc32c(body))).toString("base64")
    case "x-amz-checksum-sha1":
      return createHash("sha1").update(body).digest("base64")
    case "x-amz-checksum-sha256":
      return createHash("sha256").update(body).digest("base64")
    default:
      return undefined
  }
}

const isBase64Of = (value: string, bytes: number): boolean =>
  /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0 && Buffer.from(value, "base64").length === bytes

/**
 * Checks one `x-amz-checksum-*` value (a header or, `where` says, a trailer) against the body:
 * `undefined` when it matches or cannot be computed here.
 *
 * @internal
 */
export const verifyChecksum = (
  header: string,
  value: string,
  body: Uint8Array,
  where: "header" | "trailing header" = "header"
): S3Error | undefined => {
  const algorithm = algorithms[header]
  if (algorithm === undefined) {
    return { status: 400, code: "InvalidRequest", message: `The checksum header ${header} is not supported.` }
  }
  if (!isBase64Of(value, algorithm.bytes)) {
    return { status: 400, code: "InvalidRequest", message: `Value for ${header} ${where} is invalid.` }
  }
  const computed = checksumOf(header, body)
  return computed === undefined || computed === value ? undefined : {
    status: 400,
    code: "BadDigest",
    message: `The ${algorithm.name} you specified did not match the calculated checksum.`
  }
}

/** Checks `Content-MD5` against the body: `undefined` when it matches. @internal */
export const verifyContentMd5 = (value: string, body: Uint8Array): S3Error | undefined => {
  if (!isBase64Of(value, 16)) {
    return { status: 400, code: "InvalidDigest", message: "The Content-MD5 you specified was invalid." }
  }
  return createHash("md5").update(body).digest("base64") === value ? undefined : {
    status: 400,
    code: "BadDigest",
    message: "The Content-MD5 you specified did not match what we received."
  }
}
