/**
 * Embeds a video with Nova through async invoke: submit → poll → read the segment vectors from S3.
 *
 *   node packages/bedrock-embed/examples/async-video.ts --emulator      # in-process Bedrock + S3 emulator
 *   node packages/bedrock-embed/examples/async-video.ts s3://bucket/clip.mp4 s3://bucket/results/   # real AWS
 */
import { EMULATOR_CREDENTIALS, Fixtures, startEmulator } from "@bedrock-embed/emulator"
import { awaitBatch, batchResults, embedding } from "bedrock-embed"

const useEmulator = process.argv.includes("--emulator")
let video = process.argv[2] ?? ""
let output = process.argv[3] ?? ""
const emulator = useEmulator ? await startEmulator({ asyncDelayMs: 1000 }) : undefined
if (emulator !== undefined) {
  process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = emulator.url
  process.env.AWS_ENDPOINT_URL_S3 = emulator.s3Url
  process.env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey
  process.env.AWS_REGION = "us-east-1"
  // A 12-second test video in the emulator's S3, uploaded with the official S3 client.
  const { CreateBucketCommand, PutObjectCommand, S3Client } = await import("@aws-sdk/client-s3")
  const s3 = new S3Client({ region: "us-east-1", endpoint: emulator.s3Url!, forcePathStyle: true })
  await s3.send(new CreateBucketCommand({ Bucket: "media" }))
  await s3.send(
    new PutObjectCommand({ Bucket: "media", Key: "clip.mp4", Body: Buffer.from(Fixtures.mp4(12), "base64") })
  )
  s3.destroy()
  video = "s3://media/clip.mp4"
  output = "s3://media/embeddings/"
}

try {
  const submitted = await embedding({
    model: "bedrock/async_invoke/amazon.nova-2-multimodal-embeddings-v1:0",
    input: video,
    input_type: "video",
    output_s3_uri: output,
    dimensions: 1024,
    durationSeconds: 5
  })
  const jobArn = submitted._hidden_params._invocation_arn!
  console.log(`submitted ${jobArn}`)
  const done = await awaitBatch({ batch_id: jobArn })
  console.log(`status: ${done.status}, output: ${done.metadata.output_file_id}`)
  const results = await batchResults({ batch_id: jobArn })
  for (const segment of results.data) {
    console.log(`${segment.modality} ${segment.start_sec}s–${segment.end_sec}s → ${segment.embedding.length} dims`)
  }
} finally {
  await emulator?.close()
}
