/** The hermetic environment of `test/setup.ts`, for the scripts that run outside vitest. */
for (
  const name of [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "SAGEMAKER_ENDPOINT_NAME"
  ]
) delete process.env[name]
process.env.AWS_EC2_METADATA_DISABLED = "true"
process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config"
process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/aws-credentials"
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"
