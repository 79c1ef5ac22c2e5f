/**
 * An adaptive concurrency limit (additive increase, multiplicative decrease): requests wait for a
 * slot while the requests in flight reach the limit; a window of successes raises it by one, a
 * capacity signal multiplies it by 0.7. One decrease per window, so one overload burst (many
 * requests refused at once) lowers the limit once.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"

export interface Limiter {
  /** The current limit (requests in flight allowed), a whole number. */
  readonly limit: () => number
  readonly inFlight: () => number
  /** Runs `effect` in a slot: waits for one, holds it while `effect` runs, frees it on any exit. */
  readonly withSlot: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** A request succeeded. */
  readonly onSuccess: () => void
  /** The endpoint said it is at capacity (throttled, not ready, overloaded). */
  readonly onCapacitySignal: () => void
}

export const DECREASE_FACTOR = 0.7

export const make = (options: {
  readonly initial: number
  readonly max: number
  /** Called whenever the limit changes. */
  readonly onChange?: ((limit: number) => void) | undefined
}): Limiter => {
  let limit = Math.min(options.initial, options.max)
  let inFlight = 0
  let successesSinceChange = 0
  let decreasedThisWindow = false
  const waiting: Array<() => void> = []

  const wakeWaiters = () => {
    while (waiting.length > 0 && inFlight < Math.floor(limit)) {
      inFlight++
      waiting.shift()!()
    }
  }
  const setLimit = (next: number) => {
    limit = next
    successesSinceChange = 0
    options.onChange?.(Math.floor(limit))
    wakeWaiters()
  }

  const acquire = Effect.async<void>((resume) => {
    if (inFlight < Math.floor(limit) && waiting.length === 0) {
      inFlight++
      resume(Effect.void)
      return
    }
    let granted = false
    const grant = () => {
      granted = true
      resume(Effect.void)
    }
    waiting.push(grant)
    return Effect.sync(() => {
      // Interrupted while waiting: leave the queue; interrupted right after the grant: give it back.
      const at = waiting.indexOf(grant)
      if (at >= 0) waiting.splice(at, 1)
      else if (granted) release()
    })
  })
  const release = () => {
    inFlight--
    wakeWaiters()
  }

  return {
    limit: () => Math.floor(limit),
    inFlight: () => inFlight,
    // The wait for a slot stays interruptible; once granted, the slot is freed on any exit.
    withSlot: (effect) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(restore(acquire), Effect.ensuring(restore(effect), Effect.sync(release)))
      ),
    onSuccess: () => {
      successesSinceChange++
      if (successesSinceChange >= Math.floor(limit)) {
        decreasedThisWindow = false
        if (limit < options.max) setLimit(Math.min(options.max, Math.floor(limit) + 1))
        else successesSinceChange = 0
      }
    },
    onCapacitySignal: () => {
      if (decreasedThisWindow) return
      decreasedThisWindow = true
      setLimit(Math.max(1, limit * DECREASE_FACTOR))
    }
  }
}
