/**
 * Interruption and resource safety on every transport (the real SDK client, the HTTP transport): a
 * timeout or an interrupt aborts the HTTP request (the server sees the socket close), and closing
 * the layer's scope closes the client (its keep-alive sockets close).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as SagemakerGenerator from "../src/SagemakerGenerator.js"
import { withGenerator } from "./helpers/generator.js"
import { testEnv } from "./helpers/generator.js"
import * as Loopback from "./helpers/loopbackServer.js"
import { transports } from "./helpers/transports.js"

/** Waits (up to 2 s) until `check` holds. */
const eventually = (check: () => boolean) =>
  Effect.suspend(() => check() ? Effect.void : Effect.fail("not yet")).pipe(
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("2 seconds"))),
    Effect.orElse(() => Effect.sync(() => assert.fail("the condition never held")))
  )

for (const transport of transports) {
  describe(`interruption aborts the request (${transport.name} transport)`, () => {
    it.scopedLive("a timeout aborts the HTTP request", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => ({ hang: true }))
        // Checked while the layer (and its client) is still open: closing it would close the socket too.
        yield* Effect.gen(function*() {
          const error = yield* Effect.flip(SagemakerGenerator.run("p"))
          assert.strictEqual(error._tag, "SagemakerTimeoutError")
          yield* eventually(() => server.aborted() === 1)
        }).pipe(withGenerator(server, { ...transport.options, timeout: "100 millis", retry: false }))
      }))

    it.scopedLive("interrupting the fiber aborts the HTTP request", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => ({ hang: true }))
        yield* Effect.gen(function*() {
          const fiber = yield* Effect.fork(SagemakerGenerator.run("p"))
          yield* eventually(() => server.requests.length === 1)
          const exit = yield* Fiber.interrupt(fiber)
          assert.isTrue(Exit.isInterrupted(exit))
          yield* eventually(() => server.aborted() === 1)
        }).pipe(withGenerator(server, transport.options))
      }))

    it.scopedLive("each timed-out attempt is aborted before the next one starts", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => ({ hang: true }))
        yield* Effect.gen(function*() {
          yield* Effect.flip(SagemakerGenerator.run("p"))
          assert.strictEqual(server.requests.length, 3)
          yield* eventually(() => server.aborted() === 3)
        }).pipe(
          withGenerator(server, { ...transport.options, timeout: "50 millis", retry: { baseDelay: "1 millis" } })
        )
      }))
  })

  describe(`the layer owns the client (${transport.name} transport)`, () => {
    it.scopedLive("closing the layer's scope closes the client and its sockets", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, `[{"generated_text":"ok"}]`))
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          SagemakerGenerator.layer({ ...transport.options, model: "m", endpointUrl: server.url }),
          scope
        ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(testEnv)))
        yield* SagemakerGenerator.run("p").pipe(Effect.provide(context))
        // Keep-alive: the socket stays open after the answer.
        assert.strictEqual(server.openSockets(), 1)
        yield* Scope.close(scope, Exit.void)
        yield* eventually(() => server.openSockets() === 0)
      }))

    it.scopedLive("one client per layer: concurrent calls share its keep-alive sockets", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => Loopback.json(200, `[{"generated_text":"ok"}]`))
        yield* Effect.gen(function*() {
          for (let round = 0; round < 3; round++) {
            yield* Effect.all(Array.from({ length: 8 }, () => SagemakerGenerator.run("p")), {
              concurrency: "unbounded"
            })
          }
        }).pipe(withGenerator(server, transport.options))
        assert.strictEqual(server.requests.length, 24)
        assert.isAtMost(server.openSockets(), 8)
      }))

    it.scopedLive("maxConcurrency bounds the requests in flight", () =>
      Effect.gen(function*() {
        const server = yield* Loopback.start(() => ({ hang: true }))
        const fiber = yield* Effect.fork(
          Effect.all(Array.from({ length: 10 }, () => SagemakerGenerator.run("p")), { concurrency: "unbounded" }).pipe(
            withGenerator(server, { ...transport.options, maxConcurrency: 3, retry: false })
          )
        )
        yield* eventually(() => server.requests.length === 3)
        // The other seven wait for a socket of the pool.
        yield* Effect.sleep("100 millis")
        assert.strictEqual(server.requests.length, 3)
        yield* Fiber.interrupt(fiber)
      }))
  })
}
