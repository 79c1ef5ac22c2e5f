/**
 * The S3 side of async inference: `@aws-sdk/client-s3`, an optional peer loaded only when an async
 * service is built, on the SageMaker client's region and credential chain. Each operation is an
 * abortable Effect whose failures are stated as facts: absent (403 or 404: a poller without
 * `s3:ListBucket` gets 403 for a key that does not exist yet), transient, or final.
 *
 * @since 0.1.0
 * @internal
 */
import type * as S3 from "@aws-sdk/client-s3"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { AwsIdentity } from "../../SagemakerClient.js"
import { AWSConfigurationError, SagemakerInferenceError, SagemakerResponseError } from "../../SagemakerError.js"
import { describeCause } from "../client/errorTable.js"

/** An S3 object's address. */
export interface Location {
  readonly bucket: string
  readonly key: string
}

/** `s3://bucket/key` → its bucket and key; `undefined` when it is no such URI. */
export const parseLocation = (uri: string): Location | undefined => {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
  return match === null ? undefined : { bucket: match[1]!, key: match[2]! }
}

export const formatLocation = (location: Location): string => `s3://${location.bucket}/${location.key}`

/** Why an S3 request failed: a transient failure is worth trying again; a final one is not. */
export type S3Failure = SagemakerInferenceError | AWSConfigurationError

export interface Client {
  readonly put: (location: Location, body: Uint8Array, contentType: string) => Effect.Effect<void, S3Failure>
  /** The object's size, or `undefined` when it is not there (yet). */
  readonly head: (location: Location) => Effect.Effect<number | undefined, S3Failure>
  /**
   * The keys under `prefix` (every page up to `maxKeys`), or `"denied"` when the caller may not
   * list the bucket (no `s3:ListBucket`), or `"too-many"` past `maxKeys`.
   */
  readonly list: (
    bucket: string,
    prefix: string,
    maxKeys: number
  ) => Effect.Effect<ReadonlySet<string> | "denied" | "too-many", S3Failure>
  /** The object's bytes; a size over `maxBytes` is refused before it is read. */
  readonly get: (
    endpointName: string,
    location: Location,
    maxBytes: number
  ) => Effect.Effect<Uint8Array, S3Failure | SagemakerResponseError>
}

export interface Options {
  readonly identity: AwsIdentity
  /** The endpoint to use instead of S3's own (the emulator, MinIO): path-style addressing. */
  readonly endpointUrl: string | undefined
  /** For the errors: the SageMaker endpoint the objects belong to. */
  readonly endpointName: string
}

interface SdkError {
  readonly name?: unknown
  readonly message?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown }
}

const statusOf = (error: unknown): number | undefined => {
  const status = (error as SdkError | undefined)?.$metadata?.httpStatusCode
  return typeof status === "number" ? status : undefined
}

const nameOf = (error: unknown): string => {
  const name = (error as SdkError | undefined)?.name
  return typeof name === "string" ? name : "Error"
}

/** S3's throttling and timeout codes, besides 5xx and no response at all. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(["SlowDown", "RequestTimeout", "ThrottlingException"])

/** An S3 failure as a tagged error: credentials → configuration; 5xx, throttling, no response → retryable. */
export const fromS3Error = (endpointName: string, operation: string, error: unknown): S3Failure => {
  const name = nameOf(error)
  if (name === "CredentialsProviderError") {
    return new AWSConfigurationError({ model: endpointName, description: "no AWS credentials for S3", cause: error })
  }
  const statusCode = statusOf(error)
  const retryable = statusCode === undefined || statusCode >= 500 || TRANSIENT_CODES.has(name)
  return new SagemakerInferenceError({
    endpointName,
    ...(statusCode === undefined ? {} : { statusCode }),
    errorCode: `S3.${name}`,
    text: `S3 ${operation} failed: ${describeCause(error)}`,
    retryable
  })
}

const isAbsent = (error: unknown): boolean => {
  const status = statusOf(error)
  return status === 403 || status === 404
}

const loadSdk = (endpointName: string): Effect.Effect<typeof S3, AWSConfigurationError> =>
  Effect.tryPromise({
    try: () => import("@aws-sdk/client-s3"),
    catch: (cause) =>
      new AWSConfigurationError({
        model: endpointName,
        description: "async inference needs the optional peer dependency @aws-sdk/client-s3 " +
          "(npm install @aws-sdk/client-s3@~3.1164.0)",
        cause
      })
  })

/** The S3 client, closed with the scope. */
export const make = (options: Options): Effect.Effect<Client, AWSConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const sdk = yield* loadSdk(options.endpointName)
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new sdk.S3Client({
          region: options.identity.region,
          credentials: options.identity.credentials,
          ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl, forcePathStyle: true })
        })
      ),
      (client) => Effect.sync(() => client.destroy())
    )
    const name = options.endpointName
    const send = <A>(operation: string, call: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: call, catch: (error) => error })

    const put: Client["put"] = (location, body, contentType) =>
      send("PutObject", (abortSignal) =>
        client.send(
          new sdk.PutObjectCommand({
            Bucket: location.bucket,
            Key: location.key,
            Body: body,
            ContentType: contentType
          }),
          { abortSignal }
        )).pipe(Effect.asVoid, Effect.mapError((error) => fromS3Error(name, "PutObject", error)))

    const head: Client["head"] = (location) =>
      send(
        "HeadObject",
        (abortSignal) =>
          client.send(new sdk.HeadObjectCommand({ Bucket: location.bucket, Key: location.key }), { abortSignal })
      ).pipe(
        Effect.map((output) => output.ContentLength ?? 0),
        Effect.catchAll((error) =>
          isAbsent(error) ? Effect.succeed(undefined) : Effect.fail(fromS3Error(name, "HeadObject", error))
        )
      )

    const list: Client["list"] = (bucket, prefix, maxKeys) =>
      Effect.gen(function*() {
        const keys = new Set<string>()
        let token: string | undefined
        do {
          const page = yield* send("ListObjectsV2", (abortSignal) =>
            client.send(
              new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
              { abortSignal }
            ))
          for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.add(object.Key)
          if (keys.size > maxKeys) return "too-many" as const
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined
        } while (token !== undefined)
        return keys
      }).pipe(
        Effect.catchAll((error) =>
          statusOf(error) === 403
            ? Effect.succeed("denied" as const)
            : Effect.fail(fromS3Error(name, "ListObjectsV2", error))
        )
      )

    const get: Client["get"] = (endpointName, location, maxBytes) =>
      Effect.gen(function*() {
        const output = yield* send("GetObject", (abortSignal) =>
          client.send(new sdk.GetObjectCommand({ Bucket: location.bucket, Key: location.key }), { abortSignal })).pipe(
            Effect.mapError((error) =>
              fromS3Error(endpointName, "GetObject", error)
            )
          )
        const size = output.ContentLength
        if (size !== undefined && size > maxBytes) {
          // Not read: let go of the socket at once.
          ;(output.Body as { destroy?: () => void } | undefined)?.destroy?.()
          return yield* Effect.fail(tooLarge(endpointName, location, size, maxBytes))
        }
        const bytes = yield* Effect.tryPromise({
          try: () => output.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array(0)),
          catch: (error) => fromS3Error(endpointName, "GetObject", error)
        })
        return bytes.length > maxBytes
          ? yield* Effect.fail(tooLarge(endpointName, location, bytes.length, maxBytes))
          : bytes
      })

    return { put, head, list, get }
  })

const tooLarge = (endpointName: string, location: Location, size: number, maxBytes: number) =>
  new SagemakerResponseError({
    endpointName,
    detail: `the result at ${formatLocation(location)} is ${size} bytes, over the limit of ${maxBytes} ` +
      "(the maxResultBytes option)",
    body: ""
  })
