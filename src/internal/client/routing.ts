/**
 * The routing table: each optional request member of SageMaker Runtime (which variant, model,
 * container, component, session, ...) with its option name, SDK member, wire header, Haystack dict
 * key, the operations that carry it and its rule. Types, both transports, validation and
 * serialization read it, so a member is added in one row.
 *
 * @since 0.1.0
 * @internal
 */
import { MAX_RESOURCE_NAME_LENGTH, RESOURCE_NAME_PATTERN } from "../limits.js"

/** The operations that carry routing members. */
export type Operation = "invoke" | "stream" | "async"

/** A rule from the API reference: a length bound and a pattern, worded for the error message. */
export interface Rule {
  readonly maxLength: number
  readonly pattern: RegExp
  readonly describe: string
}

/** One optional member of the request. */
export interface Member {
  /** The member of the SDK's command input. */
  readonly sdkMember: string
  /** The HTTP header, lower case, as the lean transport writes it. */
  readonly header: string
  /** The key in Haystack's `init_parameters` (written after Haystack's own keys). */
  readonly dictKey: string
  /** Where the dict writes it among the routing keys: the order earlier releases wrote. */
  readonly dictRank: number
  /** The rule of each operation that carries the member; an absent operation has no such member. */
  readonly rules: { readonly [O in Operation]?: Rule }
}

const resourceName: Rule = {
  maxLength: MAX_RESOURCE_NAME_LENGTH,
  pattern: RESOURCE_NAME_PATTERN,
  describe: "must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
}

/** `\A\S[\p{Print}]*\z`, read as: printable ASCII, not starting with a space. */
const printableId = (maxLength: number): Rule => ({
  maxLength,
  pattern: /^[\x21-\x7e][\x20-\x7e]*$/,
  describe: "must be printable ASCII, not starting with a space"
})

/**
 * The routing members, in the order the SDK writes them on the wire. The JSDoc of each row is the
 * documentation of its option.
 */
export const members = {
  /** The model to invoke on a multi-model endpoint (InvokeEndpoint only). */
  targetModel: {
    sdkMember: "TargetModel",
    header: "x-amzn-sagemaker-target-model",
    dictKey: "target_model",
    dictRank: 1,
    rules: { invoke: printableId(1024) }
  },
  /** The production variant to send the request to, instead of the endpoint's traffic split. */
  targetVariant: {
    sdkMember: "TargetVariant",
    header: "x-amzn-sagemaker-target-variant",
    dictKey: "target_variant",
    dictRank: 0,
    rules: { invoke: resourceName, stream: resourceName }
  },
  /** The container to invoke on a multi-container endpoint with direct invocation. */
  targetContainerHostname: {
    sdkMember: "TargetContainerHostname",
    header: "x-amzn-sagemaker-target-container-hostname",
    dictKey: "target_container_hostname",
    dictRank: 2,
    rules: { invoke: resourceName, stream: resourceName }
  },
  /** Your identifier of the request, recorded by SageMaker (model monitoring, data capture). */
  inferenceId: {
    sdkMember: "InferenceId",
    header: "x-amzn-sagemaker-inference-id",
    dictKey: "inference_id",
    dictRank: 4,
    rules: { invoke: printableId(64), stream: printableId(64), async: printableId(64) }
  },
  /** The inference component to invoke, on an endpoint that hosts inference components. */
  inferenceComponentName: {
    sdkMember: "InferenceComponentName",
    header: "x-amzn-sagemaker-inference-component",
    dictKey: "inference_component_name",
    dictRank: 3,
    rules: {
      invoke: {
        maxLength: MAX_RESOURCE_NAME_LENGTH,
        pattern: /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/,
        describe: "must match ^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
      },
      stream: {
        maxLength: MAX_RESOURCE_NAME_LENGTH,
        pattern: /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/,
        describe: "must match ^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
      }
    }
  },
  /**
   * A stateful session: `"NEW_SESSION"` opens one (InvokeEndpoint only; the new id comes back as
   * `newSessionId`), an id from an earlier answer continues it.
   */
  sessionId: {
    sdkMember: "SessionId",
    header: "x-amzn-sagemaker-session-id",
    dictKey: "session_id",
    dictRank: 5,
    rules: {
      invoke: {
        maxLength: 256,
        pattern: /^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/,
        describe: "must be NEW_SESSION or match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
      },
      stream: {
        maxLength: 256,
        pattern: /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/,
        describe: "must be an existing session's id (a stream cannot open a session: NEW_SESSION needs run)"
      }
    }
  },
  /** A routing hint for endpoints whose routing strategy is `PREFIX_AWARE`: same id, same instance. */
  prefixAwareId: {
    sdkMember: "PrefixAwareId",
    header: "x-amzn-sagemaker-prefix-aware-id",
    dictKey: "prefix_aware_id",
    dictRank: 6,
    rules: { invoke: printableId(64), stream: printableId(64) }
  }
} as const satisfies Record<string, Member>

/** The option name of a routing member. */
export type Name = keyof typeof members

/** The routing options, each documented by its row of {@link members}. */
export type Routing = { readonly [K in Name]?: string | undefined }

/** The routing members the stream route carries. */
export type StreamName = {
  [K in Name]: (typeof members)[K]["rules"] extends { readonly stream: Rule } ? K : never
}[Name]

/** Every row, in wire order. */
export const rows: ReadonlyArray<readonly [Name, Member]> = Object.entries(members) as Array<[Name, Member]>

/** Every row, in the order the Haystack dict writes them. */
export const dictRows: ReadonlyArray<readonly [Name, Member]> = [...rows].sort(([, a], [, b]) =>
  a.dictRank - b.dictRank
)

const operationNames: { readonly [O in Operation]: string } = {
  invoke: "InvokeEndpoint",
  stream: "the stream route",
  async: "InvokeEndpointAsync"
}

/** Why `value` breaks the member's rule on `operation`, or `undefined` when it is fine. */
export const problem = (name: Name, operation: Operation, value: unknown): string | undefined => {
  const rule = (members[name] as Member).rules[operation]
  if (rule === undefined) return `is not a member of ${operationNames[operation]}`
  if (typeof value !== "string") return `must be a string, got ${value === null ? "null" : typeof value}`
  if (value.length === 0) return "must not be empty"
  if (value.length > rule.maxLength) return `must be at most ${rule.maxLength} characters, got ${value.length}`
  return rule.pattern.test(value) ? undefined : rule.describe
}

/** The routing members that are set, picked from a larger object (the options, a call's request). */
export const pick = (from: Routing): Routing => {
  let picked: Record<string, string> | undefined
  for (const [name] of rows) {
    const value = from[name]
    if (value !== undefined) (picked ??= {})[name] = value
  }
  return picked ?? {}
}

/** One member of InvokeEndpointAsync of its own (not a routing member): text, or whole seconds. */
export interface AsyncMember {
  readonly sdkMember: string
  readonly header: string
  readonly rule: Rule | { readonly min: number; readonly max: number }
}

/**
 * The members only InvokeEndpointAsync has, in the order the SDK writes them (after the routing
 * members it shares: `inferenceId`). Rules from the API reference.
 */
export const asyncMembers = {
  /** Where the request body is, instead of an inline body: `s3://bucket/key` (or an https URL). */
  inputLocation: {
    sdkMember: "InputLocation",
    header: "x-amzn-sagemaker-inputlocation",
    rule: { maxLength: 1024, pattern: /^(https|s3):\/\/([^/]+)\/?(.*)$/, describe: "must be an s3:// or https:// URI" }
  },
  /** A path appended to the endpoint's S3 output path. */
  s3OutputPathExtension: {
    sdkMember: "S3OutputPathExtension",
    header: "x-amzn-sagemaker-s3outputpathextension",
    rule: {
      maxLength: 512,
      pattern: /^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$/,
      describe: "must match ^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$"
    }
  },
  /** The output object's file name, instead of `<inference id>.out`. */
  filename: {
    sdkMember: "Filename",
    header: "x-amzn-sagemaker-filename",
    rule: {
      maxLength: 32,
      pattern: /^(?!.*\..*\.)[a-zA-Z0-9][a-zA-Z0-9-_.]*$/,
      describe: "must match ^(?!.*\\..*\\.)[a-zA-Z0-9][a-zA-Z0-9-_\\.]*$"
    }
  },
  /** How long the request may wait in the queue: 60–21600 s (SageMaker's default 21600). */
  requestTtlSeconds: {
    sdkMember: "RequestTTLSeconds",
    header: "x-amzn-sagemaker-requestttlseconds",
    rule: { min: 60, max: 21600 }
  },
  /** How long the model may work on it: 1–3600 s (SageMaker's default 900). */
  invocationTimeoutSeconds: {
    sdkMember: "InvocationTimeoutSeconds",
    header: "x-amzn-sagemaker-invocationtimeoutseconds",
    rule: { min: 1, max: 3600 }
  }
} as const satisfies Record<string, AsyncMember>

/** The option name of an InvokeEndpointAsync member of its own. */
export type AsyncName = keyof typeof asyncMembers

/** The InvokeEndpointAsync members of its own, each documented by its row of {@link asyncMembers}. */
export type AsyncMembers = {
  readonly [K in AsyncName]?: (typeof asyncMembers)[K]["rule"] extends Rule ? string | undefined : number | undefined
}

/** Every async row, in wire order. */
export const asyncRows: ReadonlyArray<readonly [AsyncName, AsyncMember]> = Object.entries(asyncMembers) as Array<
  [AsyncName, AsyncMember]
>

/** Why `value` breaks the async member's rule, or `undefined` when it is fine. */
export const asyncProblem = (name: AsyncName, value: unknown): string | undefined => {
  const rule = (asyncMembers[name] as AsyncMember).rule
  if ("min" in rule) {
    if (typeof value !== "number" || !Number.isInteger(value)) return "must be a whole number of seconds"
    return value < rule.min || value > rule.max
      ? `must be from ${rule.min} to ${rule.max} seconds, got ${value}`
      : undefined
  }
  if (typeof value !== "string") return `must be a string, got ${value === null ? "null" : typeof value}`
  if (value.length === 0) return "must not be empty"
  if (value.length > rule.maxLength) return `must be at most ${rule.maxLength} characters, got ${value.length}`
  return rule.pattern.test(value) ? undefined : rule.describe
}
