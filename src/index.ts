/**
 * effect-sagemaker: text generation on Amazon SageMaker inference endpoints for Effect programs.
 * Each module is also its own subpath (`effect-sagemaker/SagemakerGenerator`, ...), which loads
 * only what that module needs.
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
 * The retry policy of every service.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * Asynchronous inference: submit to an async endpoint's queue, collect the result from S3.
 *
 * @since 0.1.0
 */
export * as SagemakerAsync from "./SagemakerAsync.js"

/**
 * Many prompts against one endpoint, at the endpoint's capacity.
 *
 * @since 0.1.0
 */
export * as SagemakerBatch from "./SagemakerBatch.js"

/**
 * The one client every service runs on: one socket pool and credential chain for many endpoints.
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
 * What `stream` yields.
 *
 * @since 0.1.0
 */
export * as StreamChunk from "./StreamChunk.js"

/**
 * A local SageMaker Runtime emulator, for tests and demos without AWS.
 *
 * @since 0.1.0
 */
export * as SagemakerEmulator from "./emulator/SagemakerEmulator.js"
