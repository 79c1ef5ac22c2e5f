/**
 * The emulator's S3 endpoint, one request at a time: path-style addressing (`/bucket/key`),
 * PutObject (plain and aws-chunked), GetObject (with a single `Range`), HeadObject, DeleteObject,
 * ListObjectsV2, and the few bucket calls a client makes first (HeadBucket, CreateBucket,
 * DeleteBucket). Errors are S3's XML bodies with `x-amz-request-id`; HEAD errors have no body.
 * With credentials configured, requests must carry a SigV4 signature for service `s3`.
 *
 * Without `s3:ListBucket` (`listBucket: false`) S3 answers a missing object with 403 AccessDenied,
 * not 404, and refuses ListObjectsV2 and HeadBucket: the view a poller of async inference results
 * often has.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type * as Http from "node:http"
import type { Options } from "../SagemakerEmulator.js"
import * as AwsChunked from "./awsChunked.js"
import * as S3Store from "./s3Store.js"
import * as SigV4 from "./sigv4.js"

/** @internal */
export interface Config {
  readonly store: S3Store.S3Store
  /** When given, every request must be signed (SigV4, service `s3`) by one of these key pairs. */
  readonly credentials?: Options["credentials"]
  /** `false`: the caller lacks `s3:ListBucket` (missing objects are 403, listing is refused). */
  readonly listBucket: boolean
  /** `x-amz-bucket-region` of HeadBucket. */
  readonly region?: string | undefined
}

/** A request as received: raw path and query, lower-cased headers, the whole body. @internal */
export interface Request {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** @internal */
export interface Response {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | string
}

type S3Error = AwsChunked.S3Error

/** S3's largest single PUT, 5 GiB. */
const maxObjectBytes = 5 * 1024 ** 3

const xmlEscape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;" })[c]!)

const element = (name: string, value: string | number): string => `<${name}>${xmlEscape(String(value))}</${name}>`

const xmlHead = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

const sha256Hex = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex")

const hmac = (key: Uint8Array | string, data: string): Buffer => createHmac("sha256", key).update(data).digest()

/** SigV4's URI encoding (RFC 3986 unreserved characters kept), as the SDK's signer does. */
const escapeUri = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** The query's parameters, decoded, in order; `undefined` when one is not valid percent-encoding. */
const parseQuery = (query: string): ReadonlyArray<readonly [string, string]> | undefined => {
  const pairs: Array<readonly [string, string]> = []
  for (const part of query.split("&")) {
    if (part.length === 0) continue
    const eq = part.indexOf("=")
    try {
      pairs.push(
        eq < 0
          ? [decodeURIComponent(part), ""]
          : [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))]
      )
    } catch {
      return undefined
    }
  }
  return pairs
}

/** Query parameters that name an S3 feature (a sub-resource) this endpoint does not serve. */
const subresources = [
  "acl",
  "attributes",
  "cors",
  "delete",
  "legal-hold",
  "lifecycle",
  "location",
  "notification",
  "partNumber",
  "policy",
  "restore",
  "retention",
  "select",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website"
]

/** The payload hashes a signed request may declare (besides a hex SHA-256). */
const unsignedPayload = "UNSIGNED-PAYLOAD"
const unsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
const signedStreaming = [
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
  "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
  "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
]

const isHexSha256 = (value: string): boolean => /^[0-9a-f]{64}$/.test(value)

/** Non-ASCII metadata goes back RFC 2047-encoded, as S3 returns it (and as node accepts in a header). */
const headerValue = (value: string): string =>
  /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value).toString("base64")}?=`

const accessDenied = (): S3Error => ({ status: 403, code: "AccessDenied", message: "Access Denied" })

const notImplemented = (what: string): S3Error => ({
  status: 501,
  code: "NotImplemented",
  message: `${what} is not implemented by the emulator's S3 endpoint.`
})

const invalidArgument = (message: string, name: string, value: string): S3Error => ({
  status: 400,
  code: "InvalidArgument",
  message,
  fields: { ArgumentName: name, ArgumentValue: value }
})

/** The continuation token: where the last page stopped, opaque to the client. */
interface Continuation {
  readonly after?: string | undefined
  /** A common prefix already returned, whose keys are skipped. */
  readonly skip?: string | undefined
}

const encodeToken = (token: Continuation): string => Buffer.from(JSON.stringify(token)).toString("base64url")

const decodeToken = (text: string): Continuation | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString())
    if (typeof value !== "object" || value === null) return undefined
    const { after, skip } = value as Record<string, unknown>
    if ((after !== undefined && typeof after !== "string") || (skip !== undefined && typeof skip !== "string")) {
      return undefined
    }
    return { after, skip } as Continuation
  } catch {
    return undefined
  }
}

/** @internal */
export interface Handler {
  /** Never throws for a bad request: every refusal is an S3 error response. */
  readonly handle: (request: Request) => Response
}

/** @internal */
export const make = (config: Config): Handler => {
  const { store } = config
  /** The checksum each object was put with, answered back when a GET asks (`x-amz-checksum-mode`). */
  const checksums = new WeakMap<S3Store.StoredObject, { readonly header: string; readonly value: string }>()

  const handle = (request: Request): Response => {
    const requestId = randomBytes(8).toString("hex").toUpperCase()
    const hostId = randomBytes(48).toString("base64")
    const ids = { "x-amz-request-id": requestId, "x-amz-id-2": hostId }
    const head = request.method === "HEAD"

    const fail = (error: S3Error, resource: Readonly<Record<string, string>> = {}): Response => ({
      status: error.status,
      headers: head ? ids : { ...ids, "content-type": "application/xml" },
      body: head ? "" : xmlHead + "<Error>" + element("Code", error.code) + element("Message", error.message) +
        Object.entries({ ...resource, ...error.fields }).map(([name, value]) => element(name, value)).join("") +
        element("RequestId", requestId) + element("HostId", hostId) + "</Error>"
    })

    const ok = (
      status: number,
      headers: Readonly<Record<string, string>>,
      body: Uint8Array | string = ""
    ): Response => ({
      status,
      headers: { ...ids, ...headers },
      body: head ? "" : body
    })

    const hostname = (request.headers["host"] ?? "").replace(/:\d+$/, "").toLowerCase()
    if (hostname.endsWith(".localhost")) {
      return fail({
        status: 400,
        code: "InvalidRequest",
        message: `Virtual-hosted-style requests (Host: ${hostname}) are not supported: the emulator's S3 endpoint ` +
          "serves path-style requests only (/bucket/key). Set forcePathStyle: true on the S3 client."
      })
    }

    const query = parseQuery(request.query)
    if (query === undefined) {
      return fail({ status: 400, code: "InvalidURI", message: "Couldn't parse the specified URI." })
    }

    if (config.credentials !== undefined) {
      const refused = authenticate(request, query, config.credentials)
      if (refused !== undefined) return fail(refused)
    }

    const payloadHash = request.headers["x-amz-content-sha256"]
    if (payloadHash !== undefined && isHexSha256(payloadHash)) {
      const computed = sha256Hex(request.body)
      if (computed !== payloadHash) {
        return fail({
          status: 400,
          code: "XAmzContentSHA256Mismatch",
          message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
          fields: { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: computed }
        })
      }
    }

    // Path style: `/bucket`, `/bucket/`, `/bucket/key…`; the key is percent-decoded once.
    const rest = request.path.replace(/^\//, "")
    const slash = rest.indexOf("/")
    const bucket = slash < 0 ? rest : rest.slice(0, slash)
    let key: string
    try {
      key = slash < 0 ? "" : decodeURIComponent(rest.slice(slash + 1))
    } catch {
      return fail({ status: 400, code: "InvalidURI", message: "Couldn't parse the specified URI." })
    }
    const params = new Map(query)
    const subresource = subresources.find((name) => params.has(name))

    if (bucket.length === 0) return fail(notImplemented("ListBuckets (GET /)"))
    if (!S3Store.isBucketName(bucket)) {
      return fail(
        { status: 400, code: "InvalidBucketName", message: "The specified bucket is not valid." },
        { BucketName: bucket }
      )
    }
    if (subresource !== undefined) return fail(notImplemented(`The ?${subresource} sub-resource`))

    if (key.length === 0) {
      switch (request.method) {
        case "GET":
          return params.get("list-type") === "2"
            ? listObjectsV2(bucket, params, ok, fail)
            : fail(notImplemented("ListObjects (version 1; send list-type=2)"))
        case "HEAD":
          return config.listBucket
            ? ok(200, { "x-amz-bucket-region": config.region ?? "us-east-1" })
            : fail(accessDenied())
        case "PUT":
          // Buckets exist implicitly; creating one only says so.
          return ok(200, { location: `/${bucket}`, "content-length": "0" })
        case "DELETE":
          return store.list(bucket).length > 0
            ? fail({ status: 409, code: "BucketNotEmpty", message: "The bucket you tried to delete is not empty" }, {
              BucketName: bucket
            })
            : ok(204, {})
        default:
          return fail(methodNotAllowed(request.method, "BUCKET"))
      }
    }

    if (Buffer.byteLength(key) > 1024) {
      return fail({
        status: 400,
        code: "KeyTooLongError",
        message: "Your key is too long",
        fields: { MaxSizeAllowed: "1024", Size: String(Buffer.byteLength(key)) }
      })
    }
    switch (request.method) {
      case "PUT":
        return putObject(request, bucket, key, ok, fail)
      case "GET":
      case "HEAD": {
        const object = store.get(bucket, key)
        if (object === undefined) {
          return config.listBucket
            ? fail({ status: 404, code: "NoSuchKey", message: "The specified key does not exist." }, { Key: key })
            : fail(accessDenied())
        }
        return getObject(request, object, ok, fail)
      }
      case "DELETE":
        store.delete(bucket, key)
        return ok(204, {})
      default:
        return fail(methodNotAllowed(request.method, "OBJECT"))
    }
  }

  const methodNotAllowed = (method: string, resourceType: string): S3Error => ({
    status: 405,
    code: "MethodNotAllowed",
    message: "The specified method is not allowed against this resource.",
    fields: { Method: method, ResourceType: resourceType }
  })

  type Ok = (status: number, headers: Readonly<Record<string, string>>, body?: Uint8Array | string) => Response
  type Fail = (error: S3Error, resource?: Readonly<Record<string, string>>) => Response

  const putObject = (request: Request, bucket: string, key: string, ok: Ok, fail: Fail): Response => {
    const { headers } = request
    if (headers["x-amz-copy-source"] !== undefined) return fail(notImplemented("CopyObject (x-amz-copy-source)"))
    const declared = Number(headers["x-amz-decoded-content-length"] ?? headers["content-length"] ?? 0)
    if (declared > maxObjectBytes) {
      return fail({
        status: 400,
        code: "EntityTooLarge",
        message: "Your proposed upload exceeds the maximum allowed size",
        fields: { ProposedSize: String(declared), MaxSizeAllowed: String(maxObjectBytes) }
      })
    }
    let body = request.body
    let checksum: { readonly header: string; readonly value: string } | undefined
    // The payload hash decides the framing too: a STREAMING-* body is never stored with its framing.
    if (AwsChunked.isAwsChunked(headers) || (headers["x-amz-content-sha256"] ?? "").startsWith("STREAMING-")) {
      const decoded = AwsChunked.decode(request.body, headers)
      if (Either.isLeft(decoded)) return fail(decoded.left)
      body = decoded.right.body
      const trailer = Object.entries(decoded.right.trailers).find(([name]) => name.startsWith("x-amz-checksum-"))
      if (trailer !== undefined) checksum = { header: trailer[0], value: trailer[1] }
    } else if (headers["content-length"] === undefined) {
      return fail({
        status: 411,
        code: "MissingContentLength",
        message: "You must provide the Content-Length HTTP header."
      })
    }
    const checksumHeaders = Object.keys(headers).filter((name) =>
      name.startsWith("x-amz-checksum-") && name !== "x-amz-checksum-type" && name !== "x-amz-checksum-algorithm"
    )
    for (const name of checksumHeaders) {
      const bad = AwsChunked.verifyChecksum(name, headers[name]!, body)
      if (bad !== undefined) return fail(bad)
      checksum ??= { header: name, value: headers[name]! }
    }
    const md5 = headers["content-md5"]
    if (md5 !== undefined) {
      const bad = AwsChunked.verifyContentMd5(md5, body)
      if (bad !== undefined) return fail(bad)
    }
    const metadata: Record<string, string> = {}
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith("x-amz-meta-")) metadata[name.slice("x-amz-meta-".length)] = value
    }
    const object = store.put(bucket, key, body, headers["content-type"], metadata)
    if (checksum !== undefined) checksums.set(object, checksum)
    return ok(200, {
      etag: object.etag,
      "content-length": "0",
      ...(checksum === undefined ? {} : { [checksum.header]: checksum.value, "x-amz-checksum-type": "FULL_OBJECT" })
    })
  }

  const getObject = (request: Request, object: S3Store.StoredObject, ok: Ok, fail: Fail): Response => {
    const size = object.body.length
    const common: Record<string, string> = {
      "content-type": object.contentType ?? "binary/octet-stream",
      etag: object.etag,
      "last-modified": object.lastModified.toUTCString(),
      "accept-ranges": "bytes"
    }
    for (const [name, value] of Object.entries(object.metadata)) common[`x-amz-meta-${name}`] = headerValue(value)
    const range = parseRange(request.headers["range"], size)
    if (range === "unsatisfiable") {
      return fail({ status: 416, code: "InvalidRange", message: "The requested range is not satisfiable" }, {
        RangeRequested: request.headers["range"] ?? "",
        ActualObjectSize: String(size)
      })
    }
    if (range !== undefined) {
      const [start, end] = range
      return ok(206, {
        ...common,
        "content-length": String(end - start + 1),
        "content-range": `bytes ${start}-${end}/${size}`
      }, object.body.subarray(start, end + 1))
    }
    const checksum = checksums.get(object)
    const withChecksum = checksum !== undefined && request.headers["x-amz-checksum-mode"]?.toUpperCase() === "ENABLED"
    return ok(200, {
      ...common,
      "content-length": String(size),
      ...(withChecksum ? { [checksum.header]: checksum.value, "x-amz-checksum-type": "FULL_OBJECT" } : {})
    }, object.body)
  }

  const listObjectsV2 = (bucket: string, params: ReadonlyMap<string, string>, ok: Ok, fail: Fail): Response => {
    if (!config.listBucket) return fail(accessDenied())
    const prefix = params.get("prefix") ?? ""
    const delimiter = params.get("delimiter") ?? ""
    const maxKeysText = params.get("max-keys")
    if (maxKeysText !== undefined && !/^\d{1,9}$/.test(maxKeysText)) {
      return fail(invalidArgument("Provided max-keys not an integer or within integer range", "max-keys", maxKeysText))
    }
    const maxKeys = Math.min(1000, maxKeysText === undefined ? 1000 : Number(maxKeysText))
    const encoding = params.get("encoding-type")
    if (encoding !== undefined && encoding !== "url") {
      return fail(invalidArgument("Invalid Encoding Method specified in Request", "encoding-type", encoding))
    }
    const tokenText = params.get("continuation-token")
    const token = tokenText === undefined ? undefined : decodeToken(tokenText)
    if (tokenText !== undefined && token === undefined) {
      return fail(invalidArgument("The continuation token provided is incorrect", "continuation-token", tokenText))
    }
    const startAfter = params.get("start-after")
    // A continuation token wins over start-after, as in S3.
    const after = token !== undefined ? token.after : startAfter
    const contents: Array<string> = []
    const prefixes: Array<string> = []
    let lastCommon = token?.skip
    let lastKey: string | undefined
    let truncated = false
    for (const key of store.list(bucket, prefix)) {
      if (after !== undefined && S3Store.compareKeys(key, after) <= 0) continue
      const at = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length)
      const common = at < 0 ? undefined : key.slice(0, at + delimiter.length)
      if (common !== undefined && common === lastCommon) continue
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true
        break
      }
      if (common === undefined) contents.push(key)
      else {
        prefixes.push(common)
        lastCommon = common
      }
      lastKey = key
    }
    const encode = (text: string) => encoding === "url" ? encodeURIComponent(text).replace(/%2F/g, "/") : text
    const objects = contents.map((key) => {
      const object = store.get(bucket, key)!
      const checksum = checksums.get(object)
      return "<Contents>" + element("Key", encode(key)) + element("LastModified", object.lastModified.toISOString()) +
        element("ETag", object.etag) +
        (checksum === undefined
          ? ""
          : element("ChecksumAlgorithm", AwsChunked.algorithmOf(checksum.header) ?? "") +
            element("ChecksumType", "FULL_OBJECT")) +
        element("Size", object.body.length) + element("StorageClass", "STANDARD") + "</Contents>"
    })
    const body = xmlHead + "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
      element("Name", bucket) + element("Prefix", encode(prefix)) +
      (delimiter === "" ? "" : element("Delimiter", encode(delimiter))) +
      element("MaxKeys", maxKeys) + (encoding === undefined ? "" : element("EncodingType", encoding)) +
      element("KeyCount", contents.length + prefixes.length) + element("IsTruncated", String(truncated)) +
      (tokenText === undefined ? "" : element("ContinuationToken", tokenText)) +
      (truncated ? element("NextContinuationToken", encodeToken({ after: lastKey ?? after, skip: lastCommon })) : "") +
      (startAfter === undefined ? "" : element("StartAfter", encode(startAfter))) +
      objects.join("") +
      prefixes.map((p) => "<CommonPrefixes>" + element("Prefix", encode(p)) + "</CommonPrefixes>").join("") +
      "</ListBucketResult>"
    return ok(200, { "content-type": "application/xml" }, body)
  }

  return { handle }
}

/**
 * One `bytes=` range: `[start, end]` inclusive, `undefined` to send the whole object (no range, or
 * one S3 ignores: several ranges, bad syntax), or `unsatisfiable` (416).
 */
const parseRange = (
  header: string | undefined,
  size: number
): readonly [number, number] | "unsatisfiable" | undefined => {
  if (header === undefined) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null || (m[1] === "" && m[2] === "")) return undefined
  if (m[1] === "") {
    const suffix = Number(m[2])
    if (suffix === 0 || size === 0) return "unsatisfiable"
    return [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(m[1])
  const end = m[2] === "" ? size - 1 : Number(m[2])
  if (m[2] !== "" && end < start) return undefined
  if (start >= size) return "unsatisfiable"
  return [start, Math.min(end, size - 1)]
}

/**
 * Verifies the request's SigV4 `Authorization` header for service `s3`: `undefined` when it is
 * valid. S3's canonical request keeps the path as sent (no second encoding, no normalisation) and
 * signs the declared payload hash; a hex hash is checked against the body afterwards.
 */
const authenticate = (
  request: Request,
  query: ReadonlyArray<readonly [string, string]>,
  credentials: ReadonlyArray<{ readonly accessKeyId: string; readonly secretAccessKey: string }>
): S3Error | undefined => {
  const header = request.headers["authorization"]
  if (header === undefined) {
    return query.some(([name]) => name.toLowerCase() === "x-amz-signature")
      ? notImplemented("Query-string authentication (presigned URLs)")
      : accessDenied()
  }
  const auth = SigV4.parseAuthorization(header)
  if (auth === undefined) {
    return {
      status: 400,
      code: "AuthorizationHeaderMalformed",
      message: "The authorization header is malformed; the authorization header requires three components: " +
        "Credential, SignedHeaders, and Signature."
    }
  }
  const known = credentials.find((c) => c.accessKeyId === auth.accessKeyId)
  if (known === undefined) {
    return {
      status: 403,
      code: "InvalidAccessKeyId",
      message: "The AWS Access Key Id you provided does not exist in our records.",
      fields: { AWSAccessKeyId: auth.accessKeyId }
    }
  }
  if (auth.service !== "s3") {
    return {
      status: 400,
      code: "AuthorizationHeaderMalformed",
      message:
        `The authorization header is malformed; incorrect service "${auth.service}". This endpoint belongs to "s3".`
    }
  }
  const amzDate = request.headers["x-amz-date"]
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    return {
      status: 403,
      code: "AccessDenied",
      message: "AWS authentication requires a valid Date or x-amz-date header"
    }
  }
  if (!amzDate.startsWith(auth.date)) {
    return {
      status: 400,
      code: "AuthorizationHeaderMalformed",
      message: "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date."
    }
  }
  const payloadHash = request.headers["x-amz-content-sha256"]
  if (payloadHash === undefined) {
    return {
      status: 400,
      code: "InvalidRequest",
      message: "Missing required header for this request: x-amz-content-sha256"
    }
  }
  const canonicalQuery = query
    .filter(([name]) => name.toLowerCase() !== "x-amz-signature")
    .map(([name, value]) => `${escapeUri(name)}=${escapeUri(value)}`)
    .sort()
    .join("&")
  const canonicalHeaders = auth.signedHeaders.map((name) =>
    `${name}:${(request.headers[name] ?? "").replace(/[\r\n]/g, " ").replace(/[ \t]+/g, " ").trim()}\n`
  ).join("")
  const canonicalRequest = [
    request.method,
    request.path,
    canonicalQuery,
    canonicalHeaders,
    auth.signedHeaders.join(";"),
    payloadHash
  ].join("\n")
  const scope = `${auth.date}/${auth.region}/s3/aws4_request`
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n")
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${known.secretAccessKey}`, auth.date), auth.region), "s3"),
    "aws4_request"
  )
  const expected = Buffer.from(hmac(signingKey, stringToSign).toString("hex"))
  const provided = Buffer.from(auth.signature)
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) {
    return {
      status: 403,
      code: "SignatureDoesNotMatch",
      message:
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      fields: {
        AWSAccessKeyId: auth.accessKeyId,
        StringToSign: stringToSign,
        SignatureProvided: auth.signature,
        CanonicalRequest: canonicalRequest
      }
    }
  }
  if (signedStreaming.includes(payloadHash)) {
    return notImplemented(`Verifying chunk signatures (${payloadHash}); send ${unsignedTrailer} or a body hash`)
  }
  if (payloadHash !== unsignedPayload && payloadHash !== unsignedTrailer && !isHexSha256(payloadHash)) {
    return {
      status: 400,
      code: "InvalidArgument",
      message: `x-amz-content-sha256 must be ${unsignedPayload}, ${unsignedTrailer}, one of ${
        signedStreaming.join(", ")
      } or a valid sha256 value.`,
      fields: { ArgumentName: "x-amz-content-sha256", ArgumentValue: payloadHash }
    }
  }
  return undefined
}

const flattenHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/**
 * The node `http` listener of the S3 endpoint: reads the whole body, answers with
 * {@link Handler.handle}; `log` gets one line per request (`S3 METHOD PATH STATUS MSms`).
 *
 * @internal
 */
export const listener = (config: Config, log?: ((line: string) => void) | undefined): Http.RequestListener => {
  const handler = make(config)
  return (request, response) => {
    const started = Date.now()
    const url = request.url ?? "/"
    const q = url.indexOf("?")
    const path = q >= 0 ? url.slice(0, q) : url
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
    })
    // A client that goes away mid-body gets no answer.
    request.on("error", () => {})
    request.on("end", () => {
      let reply: Response
      try {
        reply = handler.handle({
          method: request.method ?? "GET",
          path,
          query: q >= 0 ? url.slice(q + 1) : "",
          headers: flattenHeaders(request.headers),
          body: new Uint8Array(Buffer.concat(chunks))
        })
      } catch {
        // A defect of the emulator: a bare 500, as node would give.
        reply = { status: 500, headers: {}, body: "" }
      }
      response.writeHead(reply.status, reply.headers)
      response.end(reply.body)
      log?.(`S3 ${request.method ?? "GET"} ${path} ${reply.status} ${Date.now() - started}ms`)
    })
  }
}
