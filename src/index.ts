/**
 * effect-sagemaker: text generation on Amazon SageMaker inference endpoints for Effect programs.
 *
 * @since 0.1.0
 */

/**
 * The request body and the response decoder of model containers.
 *
 * @since 0.1.0
 */
export * as Payload from "./Payload.js"

/**
 * The transport seam over the AWS SDK.
 *
 * @since 0.1.0
 */
export * as SagemakerClient from "./SagemakerClient.js"

/**
 * The tagged errors.
 *
 * @since 0.1.0
 */
export * as SagemakerError from "./SagemakerError.js"

/**
 * The generator service.
 *
 * @since 0.1.0
 */
export * as SagemakerGenerator from "./SagemakerGenerator.js"

/**
 * Haystack-style secrets resolved through Effect Config.
 *
 * @since 0.1.0
 */
export * as Secret from "./Secret.js"

/**
 * A local SageMaker Runtime emulator, for tests and demos without AWS.
 *
 * @since 0.1.0
 */
export * as SagemakerEmulator from "./emulator/SagemakerEmulator.js"
