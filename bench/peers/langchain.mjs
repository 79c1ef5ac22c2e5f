// The peers' entry point, resolved from bench/peers: LangChain, its @langchain/core and its AWS SDK
// all come from bench/peers/node_modules (pinned in bench/peers/package.json), never the library's.
export { SageMakerEndpoint } from "@langchain/community/llms/sagemaker_endpoint"
