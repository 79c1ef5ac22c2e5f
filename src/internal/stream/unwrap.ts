/**
 * `Stream.unwrap` and `Stream.unwrapScoped` as one channel each, without `Stream.flatten`'s
 * per-stream machinery (a stream of one stream run through `concatMap`): the stream an effect
 * makes, run in its place; scoped, in a scope of its own closed with the stream's exit.
 *
 * @since 0.1.0
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

export const unwrap = <A, E2, R2, E, R>(
  make: Effect.Effect<Stream.Stream<A, E2, R2>, E, R>
): Stream.Stream<A, E | E2, R | R2> => Stream.fromChannel(Channel.unwrap(Effect.map(make, Stream.toChannel)))

export const unwrapScoped = <A, E2, R2, E, R>(
  open: Effect.Effect<Stream.Stream<A, E2, R2>, E, R>
): Stream.Stream<A, E | E2, Exclude<R, Scope.Scope> | R2> =>
  Stream.fromChannel(Channel.unwrap(Effect.map(
    // Nothing is in the scope until `open` runs inside the finalizer's reach below, so a scope
    // lost to an interruption between the two is an empty one.
    Scope.make(),
    (scope) =>
      Channel.ensuringWith(
        Channel.unwrap(Effect.map(Scope.extend(open, scope), Stream.toChannel)),
        (exit) => Scope.close(scope, exit)
      )
  )))
