/**
 * A bound on each wait for a stream's next chunk: one producer and one watchdog fiber per stream,
 * because `Stream.timeoutFail` forks two fibers on every pull. Times come from the `Clock`, so
 * `TestClock` drives it; a timeout fails the stream with `onTimeout()` and closes its scope.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { fromPull, pullOf } from "./pullStream.js"
import { unwrapScoped } from "./unwrap.js"

type Pulled<A, E> = Exit.Exit<Chunk.Chunk<A>, Option.Option<E>>

export const gapTimeout = <A, E, E2>(
  self: Stream.Stream<A, E>,
  duration: Duration.DurationInput,
  onTimeout: () => E2
): Stream.Stream<A, E | E2> => unwrapScoped(gapTimeoutScoped(self, duration, onTimeout))

/**
 * {@link gapTimeout} inside a scope the caller already has (a stream's scoped opening): the
 * bounded stream is made from a pull (`pullStream.ts`), its fibers live in that scope, and a
 * stream made from a pull is pulled directly.
 */
export const gapTimeoutScoped = <A, E, E2>(
  self: Stream.Stream<A, E>,
  duration: Duration.DurationInput,
  onTimeout: () => E2
): Effect.Effect<Stream.Stream<A, E | E2>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pull = pullOf(self) ?? (yield* Stream.toPull(self))
    const clock = yield* Effect.clock
    const timeoutMillis = Duration.toMillis(duration)

    // The consumer's pull in progress: when it began and how to answer it.
    let answer: ((pulled: Pulled<A, E | E2>) => void) | undefined
    let startedAt = 0
    // Parked fibers, and a demand that came while the producer was busy.
    let wakeProducer: (() => void) | undefined
    let demanded = false
    let wakeWatchdog: (() => void) | undefined

    const settle = (pulled: Pulled<A, E | E2>): void => {
      const resume = answer
      answer = undefined
      resume?.(pulled)
    }

    const demand = Effect.async<void>((resume) => {
      if (demanded) {
        demanded = false
        return resume(Effect.void)
      }
      wakeProducer = () => {
        wakeProducer = undefined
        resume(Effect.void)
      }
    })
    // One upstream pull per consumer pull, in order; a result nobody waits for any more (the
    // stream timed out or was interrupted, and is closing) is dropped.
    yield* Effect.forkScoped(Effect.forever(
      Effect.zipRight(demand, Effect.flatMap(Effect.exit(pull), (pulled) => Effect.sync(() => settle(pulled))))
    ))

    const idle = Effect.async<void>((resume) => {
      wakeWatchdog = () => {
        wakeWatchdog = undefined
        resume(Effect.void)
      }
    })
    yield* Effect.forkScoped(Effect.forever(Effect.suspend(() => {
      if (answer === undefined) return idle
      const left = startedAt + timeoutMillis - clock.unsafeCurrentTimeMillis()
      if (left > 0) return Effect.sleep(left)
      settle(Exit.fail(Option.some(onTimeout())))
      return idle
    })))

    const timedPull = Effect.async<Chunk.Chunk<A>, Option.Option<E | E2>>((resume) => {
      startedAt = clock.unsafeCurrentTimeMillis()
      answer = resume
      wakeWatchdog?.()
      if (wakeProducer !== undefined) wakeProducer()
      else demanded = true
      return Effect.sync(() => {
        answer = undefined
      })
    })
    return fromPull(timedPull)
  })
