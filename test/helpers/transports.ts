/**
 * The transports every conformance and fault test runs through. Each entry adds generator options
 * that select one transport behind the `SagemakerClient` seam; a test suite loops over all of them
 * so that every transport passes the same tests.
 */
import type * as SagemakerGenerator from "../../src/SagemakerGenerator.js"

export interface TransportVariant {
  readonly name: string
  readonly options: Partial<SagemakerGenerator.Options>
}

export const transports: ReadonlyArray<TransportVariant> = [
  { name: "http", options: {} },
  { name: "sdk", options: { transport: "sdk" } }
]
