/**
 * SHA-256 and HMAC-SHA-256 for `@smithy/signature-v4`, on node's crypto. The signer makes one
 * instance per digest and reads it once, so the digest is taken directly; the SDK's own class
 * copies the hash before every digest, a native allocation per use, two per request.
 *
 * @since 0.1.0
 * @internal
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto"

/** What the signer hands over: its key, or the data to hash. */
type SourceData = string | ArrayBuffer | ArrayBufferView

const bytesOf = (data: Exclude<SourceData, string>): Uint8Array =>
  ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)

export class Sha256 {
  private hash: Hash | Hmac
  constructor(private readonly secret?: SourceData) {
    this.hash = this.make()
  }
  private make(): Hash | Hmac {
    const secret = this.secret
    if (secret === undefined) return createHash("sha256")
    return createHmac("sha256", typeof secret === "string" ? secret : bytesOf(secret))
  }
  update(data: SourceData): void {
    if (typeof data === "string") this.hash.update(data, "utf8")
    else this.hash.update(bytesOf(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest())
  }
  reset(): void {
    this.hash = this.make()
  }
}
