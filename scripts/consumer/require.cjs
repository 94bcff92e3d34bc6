// The consumer smoke's CommonJS half: `require("bedrock-embed")` of the installed ESM-only package
// (Node 22.12+ and 24 load ES modules synchronously through require), then one embedding against the
// emulator at EMULATOR_URL. Run by scripts/consumer-smoke.sh with Node 24.
const { BedrockEmbed, Errors } = require("bedrock-embed")

const url = process.env.EMULATOR_URL
if (typeof BedrockEmbed?.make !== "function" || typeof Errors?.InvalidRequestError !== "function") {
  console.log(
    `FAIL require("bedrock-embed") from a .cjs file: exports are ${Object.keys(require("bedrock-embed")).join(", ")}`
  )
  process.exit(1)
}
const client = BedrockEmbed.make()
client
  .embedding({
    model: "bedrock/amazon.titan-embed-text-v2:0",
    input: ["hello"],
    aws_bedrock_runtime_endpoint: url,
    aws_region_name: "us-east-1",
    aws_access_key_id: "S3RVER",
    aws_secret_access_key: "S3RVER"
  })
  .then(
    (response) => {
      const length = response.data[0]?.embedding.length
      return { ok: response.data.length === 1 && length === 1024, figure: `1 vector x ${length}` }
    },
    (error) => ({ ok: false, figure: `rejected: ${error?.stack ?? error}` })
  )
  .then(async ({ ok, figure }) => {
    await client.dispose()
    console.log(`${ok ? "PASS" : "FAIL"} require("bedrock-embed") from a .cjs file (require(esm)): ${figure}`)
    process.exit(ok ? 0 : 1)
  })
