// `require("effect-sagemaker")` resolves here: the package is ES modules only, and says so.
"use strict"
const error = new Error(
  "effect-sagemaker is ESM-only: use import (import { SagemakerGenerator } from \"effect-sagemaker\"), " +
    "or await import(\"effect-sagemaker\") from CommonJS"
)
error.code = "ERR_REQUIRE_ESM"
throw error
