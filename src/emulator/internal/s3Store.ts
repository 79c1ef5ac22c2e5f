/**
 * The emulator's S3 objects: an in-memory store by bucket and key, shared by the S3 endpoint and
 * the routes that read or write S3 (async inference). Buckets exist implicitly: any name holds
 * objects as soon as one is put.
 *
 * @since 0.1.0
 * @internal
 */
import * as Either from "effect/Either"
import { createHash } from "node:crypto"

/** @internal */
export interface StoredObject {
  /** A private copy of the bytes put. */
  readonly body: Uint8Array
  readonly contentType: string | undefined
  /** As S3 sends it in `ETag`: the body's MD5 in hex, in double quotes. */
  readonly etag: string
  /** Whole seconds, as `Last-Modified` can carry them, so GET, HEAD and list agree. */
  readonly lastModified: Date
  /** `x-amz-meta-*` values by lower-cased name (without the prefix). */
  readonly metadata: Readonly<Record<string, string>>
}

/** @internal */
export interface S3Store {
  /** Stores (or replaces) the object and returns what is stored. */
  readonly put: (
    bucket: string,
    key: string,
    body: Uint8Array,
    contentType?: string,
    metadata?: Record<string, string>
  ) => StoredObject
  readonly get: (bucket: string, key: string) => StoredObject | undefined
  /** `true` when there was an object to delete. */
  readonly delete: (bucket: string, key: string) => boolean
  /** The bucket's keys starting with `prefix`, in S3's order (UTF-8 bytes). */
  readonly list: (bucket: string, prefix?: string) => ReadonlyArray<string>
}

/** S3 orders keys by their UTF-8 bytes, which differs from UTF-16 order past U+FFFF. @internal */
export const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** @internal */
export const make = (): S3Store => {
  const buckets = new Map<string, Map<string, StoredObject>>()
  return {
    put: (bucket, key, body, contentType, metadata) => {
      const copy = new Uint8Array(body)
      const lower: Record<string, string> = {}
      for (const [name, value] of Object.entries(metadata ?? {})) lower[name.toLowerCase()] = value
      const object: StoredObject = {
        body: copy,
        contentType,
        etag: `"${createHash("md5").update(copy).digest("hex")}"`,
        lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
        metadata: Object.freeze(lower)
      }
      let objects = buckets.get(bucket)
      if (objects === undefined) {
        objects = new Map()
        buckets.set(bucket, objects)
      }
      objects.set(key, object)
      return object
    },
    get: (bucket, key) => buckets.get(bucket)?.get(key),
    delete: (bucket, key) => buckets.get(bucket)?.delete(key) ?? false,
    list: (bucket, prefix = "") =>
      [...(buckets.get(bucket)?.keys() ?? [])].filter((key) => key.startsWith(prefix)).sort(compareKeys)
  }
}

/** @internal */
export interface S3Location {
  readonly bucket: string
  /** As written in the URI: S3 URIs carry keys unencoded. May be empty when not required. */
  readonly key: string
}

/**
 * S3's bucket naming rules for new buckets: 3 to 63 lower-case letters, digits, dots and hyphens,
 * starting and ending with a letter or digit, not shaped like an IP address.
 *
 * @internal
 */
export const isBucketName = (name: string): boolean =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(name)

/**
 * Splits `s3://bucket/key` into bucket and key; `Left` says what is wrong with it. A URI naming
 * only a bucket (`s3://bucket` or `s3://bucket/`) is refused unless `keyRequired` is false (an
 * output path may be a bare bucket).
 *
 * @internal
 */
export const parseUri = (
  uri: string,
  options: { readonly keyRequired?: boolean | undefined } = {}
): Either.Either<S3Location, string> => {
  if (!uri.startsWith("s3://")) return Either.left(`"${uri}" is not an S3 URI: it must start with s3://`)
  const rest = uri.slice("s3://".length)
  const slash = rest.indexOf("/")
  const bucket = slash < 0 ? rest : rest.slice(0, slash)
  const key = slash < 0 ? "" : rest.slice(slash + 1)
  if (bucket.length === 0) return Either.left(`"${uri}" names no bucket (expected s3://bucket/key)`)
  if (!isBucketName(bucket)) return Either.left(`"${uri}": "${bucket}" is not a valid S3 bucket name`)
  if (key.length === 0 && options.keyRequired !== false) {
    return Either.left(`"${uri}" names no object key (expected s3://bucket/key)`)
  }
  if (Buffer.byteLength(key) > 1024) return Either.left(`"${uri}": the key is longer than S3's 1024 bytes`)
  return Either.right({ bucket, key })
}

/** `s3://bucket/key`. @internal */
export const formatUri = (location: S3Location): string => `s3://${location.bucket}/${location.key}`
