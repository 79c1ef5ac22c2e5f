/** Haystack's Secret, resolved through Effect Config and never printed. */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Secret from "../src/Secret.js"

const withEnv = (entries: ReadonlyArray<[string, string]>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withConfigProvider(effect, ConfigProvider.fromMap(new Map(entries)))

describe("Secret", () => {
  it.effect("an env-var secret takes the first variable that is set; an empty value counts as set", () =>
    Effect.gen(function*() {
      const secret = Secret.fromEnvVar(["A", "B", "C"])
      const value = yield* Secret.resolve(secret).pipe(withEnv([["B", ""], ["C", "c"]]))
      assert.deepStrictEqual(Option.map(value, Redacted.value), Option.some(""))
    }))

  it.effect("strict (the default) fails with Haystack's message; non-strict resolves to nothing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Secret.resolve(Secret.fromEnvVar("MISSING")).pipe(withEnv([])))
      assert.include(error.message, "None of the following authentication environment variables are set: ('MISSING',)")
      const none = yield* Secret.resolve(Secret.fromEnvVar(["X", "Y"], { strict: false })).pipe(withEnv([]))
      assert.isTrue(Option.isNone(none))
      const two = yield* Effect.flip(Secret.resolve(Secret.fromEnvVar(["X", "Y"])).pipe(withEnv([])))
      assert.include(two.message, "('X', 'Y')")
    }))

  it.effect("a token secret resolves to its value and prints as <redacted>", () =>
    Effect.gen(function*() {
      const secret = Secret.fromToken("tok-123")
      const value = yield* Secret.resolve(secret)
      assert.strictEqual(Redacted.value(Option.getOrThrow(value)), "tok-123")
      assert.notInclude(String(secret.value), "tok-123")
      assert.notInclude(JSON.stringify(secret), "tok-123")
      assert.isTrue(Option.isNone(yield* Secret.resolve(null)))
    }))

  it("constructors refuse what Haystack refuses", () => {
    assert.throws(() => Secret.fromEnvVar([]), "One or more environment variables must be provided for the secret.")
    assert.throws(() => Secret.fromToken(""), "Authentication token cannot be empty.")
  })

  it("to_dict / from_dict", () => {
    assert.deepStrictEqual(Secret.toDict(Secret.fromEnvVar("A", { strict: false })), {
      type: "env_var",
      env_vars: ["A"],
      strict: false
    })
    assert.strictEqual(
      JSON.stringify(Secret.toDict(Secret.fromEnvVar(["A", "B"]))),
      `{"type":"env_var","env_vars":["A","B"],"strict":true}`
    )
    assert.deepStrictEqual(
      Secret.fromDict({ type: "env_var", env_vars: ["A"], strict: false }),
      Either.right(Secret.fromEnvVar("A", { strict: false }))
    )
    assert.deepStrictEqual(
      Secret.fromDict({ type: "token" }),
      Either.left("Cannot deserialize token-based secret. Use an alternative secret type like environment variables.")
    )
    assert.deepStrictEqual(Secret.fromDict({ type: "vault" }), Either.left("Unknown secret type 'vault'"))
    assert.deepStrictEqual(
      Secret.fromDict({ type: "env_var", env_vars: [] }),
      Either.left("One or more environment variables must be provided for the secret.")
    )
  })
})
