/**
 * Process-level resource accounting for leak tests: the handles Node keeps the event loop alive
 * with (`process.getActiveResourcesInfo()`), counted by type, and a helper that waits until they
 * are back to a baseline.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** The resource types a leak would show as: sockets, servers, timers. */
export const TRACKED = ["TCPSocketWrap", "TCPServerWrap", "Timeout", "Immediate"] as const

export type ResourceCounts = Readonly<Record<(typeof TRACKED)[number], number>>

export const activeResources = (): ResourceCounts => {
  const info = process.getActiveResourcesInfo()
  const count = (type: string) => info.filter((t) => t === type).length
  return {
    TCPSocketWrap: count("TCPSocketWrap"),
    TCPServerWrap: count("TCPServerWrap"),
    Timeout: count("Timeout"),
    Immediate: count("Immediate")
  }
}

/** The types whose count is above the baseline. */
export const excess = (baseline: ResourceCounts, now: ResourceCounts = activeResources()): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const type of TRACKED) if (now[type] > baseline[type]) out[type] = now[type] - baseline[type]
  return out
}

/** Waits (up to `within`) until no tracked resource count is above `baseline`; returns what is left. */
export const settle = (baseline: ResourceCounts, within: Duration.DurationInput = "3 seconds") =>
  Effect.suspend(() => {
    const left = excess(baseline)
    return Object.keys(left).length === 0 ? Effect.succeed(left) : Effect.fail(left)
  }).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo(within))),
    Effect.merge
  )
