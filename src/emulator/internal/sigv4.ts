/**
 * Server-side SigV4 verification: parse `Authorization`, re-sign the received request with the
 * configured secret through `@smithy/signature-v4` (raw path, raw body, the client's signed headers
 * and date) and compare signatures (docs/protocol.md §2.4).
 *
 * @since 0.1.0
 * @internal
 */
import { SignatureV4 } from "@smithy/signature-v4"
import * as Effect from "effect/Effect"
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto"
import * as Errors from "./errors.js"

type SourceData = string | ArrayBuffer | ArrayBufferView

const toBytes = (data: SourceData): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data)

/** The smithy `Checksum` contract over node:crypto: SHA-256, or HMAC-SHA-256 when given a secret. @internal */
export class Sha256 {
  private hash: Hash | Hmac
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh()
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(this.secret))
  }
  update(data: SourceData): void {
    this.hash.update(toBytes(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()))
  }
  reset(): void {
    this.hash = this.fresh()
  }
}

/** @internal */
export interface Authorization {
  readonly accessKeyId: string
  readonly date: string
  readonly region: string
  readonly service: string
  readonly signedHeaders: ReadonlyArray<string>
  readonly signature: string
}

const authPattern =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)\s*$/

/** @internal */
export const parseAuthorization = (header: string | undefined): Authorization | undefined => {
  if (header === undefined) return undefined
  const m = authPattern.exec(header)
  if (m === null) return undefined
  return {
    accessKeyId: m[1]!,
    date: m[2]!,
    region: m[3]!,
    service: m[4]!,
    signedHeaders: m[5]!.split(";"),
    signature: m[6]!
  }
}

const parseAmzDate = (value: string): Date | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (m === null) return undefined
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])))
}

/** @internal */
export interface SignedRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/**
 * Verifies the request against the known key pairs; `undefined` means valid.
 *
 * @internal
 */
export const verify = (
  request: SignedRequest,
  credentials: ReadonlyArray<{ readonly accessKeyId: string; readonly secretAccessKey: string }>
): Effect.Effect<Errors.ErrorSpec | undefined> =>
  Effect.gen(function*() {
    const header = request.headers["authorization"]
    if (header === undefined) return Errors.missingAuthentication()
    const auth = parseAuthorization(header)
    if (auth === undefined) {
      return Errors.incompleteSignature(
        `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${header}`
      )
    }
    const known = credentials.find((c) => c.accessKeyId === auth.accessKeyId)
    if (known === undefined) return Errors.unrecognizedClient()
    if (auth.service !== "sagemaker") {
      return Errors.invalidSignature(`Credential should be scoped to correct service: 'sagemaker'. `)
    }
    const amzDate = request.headers["x-amz-date"]
    const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate)
    if (amzDate === undefined || signingDate === undefined) {
      return Errors.incompleteSignature(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
      )
    }
    if (!amzDate.startsWith(auth.date)) {
      return Errors.invalidSignature(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${
          amzDate.slice(0, 8)
        }', from '${amzDate}'.`
      )
    }
    const headers: Record<string, string> = {}
    for (const name of auth.signedHeaders) {
      const value = request.headers[name]
      if (value !== undefined) headers[name] = value
    }
    // The signer trusts x-amz-content-sha256; hash the body we actually received instead.
    if (headers["x-amz-content-sha256"] !== undefined) {
      headers["x-amz-content-sha256"] = createHash("sha256").update(request.body).digest("hex")
    }
    const query: Record<string, string | Array<string>> = {}
    for (const [k, v] of new URLSearchParams(request.query)) {
      const prev = query[k]
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
    }
    const host = request.headers["host"] ?? "localhost"
    const signer = new SignatureV4({
      service: "sagemaker",
      region: auth.region,
      credentials: { accessKeyId: known.accessKeyId, secretAccessKey: known.secretAccessKey },
      sha256: Sha256,
      uriEscapePath: true,
      // Otherwise the signer would add (and sign) a content hash header the client never sent.
      applyChecksum: auth.signedHeaders.includes("x-amz-content-sha256")
    })
    const signed = yield* Effect.tryPromise(() =>
      signer.sign({
        method: request.method,
        protocol: "http:",
        hostname: host.replace(/:\d+$/, ""),
        path: request.path,
        query,
        headers,
        body: request.body
      }, { signingDate, signableHeaders: new Set(auth.signedHeaders) })
    ).pipe(Effect.option)
    if (signed._tag === "None") return Errors.invalidSignature()
    const expected = parseAuthorization(signed.value.headers["authorization"])
    return expected !== undefined && expected.signature === auth.signature ? undefined : Errors.invalidSignature()
  })
