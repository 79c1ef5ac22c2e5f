/**
 * The lean transport's hash for SigV4 gives the digests of the SDK's own class, for every input
 * shape the signer hands over (strings, byte views, buffers; keyed and not).
 */
import { assert, describe, it } from "@effect/vitest"
import { Sha256 as SdkSha256 } from "@smithy/core/checksum"
import { Sha256 } from "../src/internal/client/http/sha256.js"

/** What the signer hands over: strings and byte views (never a bare ArrayBuffer, which the SDK's class refuses). */
const inputs: ReadonlyArray<string | Uint8Array> = [
  "",
  "AWS4-HMAC-SHA256\n20261203T000000Z",
  new TextEncoder().encode(`{"inputs":"héllo"}`),
  new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]).subarray(2, 6)
]

interface Checksum {
  update(data: string | Uint8Array): void
  digest(): Promise<Uint8Array>
}

const digest = async (
  Hash: new(secret?: string | Uint8Array) => Checksum,
  secret: string | Uint8Array | undefined,
  data: string | Uint8Array
) => {
  const hash = new Hash(secret)
  hash.update(data)
  return Buffer.from(await hash.digest()).toString("hex")
}

describe("Sha256", () => {
  it("digests as the SDK's class does, keyed and not", async () => {
    for (const secret of [undefined, "AWS4secret", new Uint8Array([1, 2, 3, 250])]) {
      for (const data of inputs) {
        assert.strictEqual(await digest(Sha256, secret, data), await digest(SdkSha256, secret, data))
      }
    }
  })

  it("reset starts a new digest with the same key", async () => {
    const hash = new Sha256("key")
    hash.update("first")
    await hash.digest()
    hash.reset()
    hash.update("second")
    assert.strictEqual(Buffer.from(await hash.digest()).toString("hex"), await digest(SdkSha256, "key", "second"))
  })
})
