/**
 * Embeds three texts with Titan Text V2.
 *
 *   node packages/bedrock-embed/examples/titan.ts              # real AWS (credentials and region from the environment)
 *   node packages/bedrock-embed/examples/titan.ts --emulator   # an in-process Bedrock emulator, no AWS account needed
 */
import { EMULATOR_CREDENTIALS, startEmulator } from "@bedrock-embed/emulator"
import { embedding } from "bedrock-embed"

const useEmulator = process.argv.includes("--emulator")
const emulator = useEmulator ? await startEmulator() : undefined
if (emulator !== undefined) {
  // The same variables point any AWS SDK client at the emulator.
  process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = emulator.url
  process.env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey
  process.env.AWS_REGION = "us-east-1"
  console.log(`Bedrock emulator listening on ${emulator.url}`)
}

try {
  const response = await embedding({
    model: "bedrock/amazon.titan-embed-text-v2:0",
    input: ["The cat sat on the mat.", "A cat was sitting on a mat.", "Quarterly revenue grew 9%."],
    dimensions: 256
  })
  for (const item of response.data) {
    const vector = item.embedding as ReadonlyArray<number>
    console.log(
      `input[${item.index}] → ${vector.length} dims [${vector
        .slice(0, 4)
        .map((x) => x.toFixed(4))
        .join(", ")}, …]`
    )
  }
  console.log(
    `usage: ${response.usage.prompt_tokens} tokens, cost $${response._hidden_params.response_cost.toFixed(8)}`
  )
} finally {
  await emulator?.close()
}
