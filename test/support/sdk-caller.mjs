// The caller's ARN as the AWS SDK for JavaScript sees it, with credentials from one provider:
//   node sdk-caller.mjs http|container|chain ENDPOINT        (inside `gatehouse exec`: container credentials)
//   node sdk-caller.mjs process ENDPOINT PROFILE             (credential_process of PROFILE in AWS_CONFIG_FILE)
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromContainerMetadata, fromHttp, fromProcess } from "@aws-sdk/credential-providers";

const [mode, endpoint, profile] = process.argv.slice(2);
const providers = {
  http: () => fromHttp({}),
  container: () => fromContainerMetadata({ timeout: 5000 }),
  process: () => fromProcess({ profile }),
  // The SDK's default chain, which finds the container variables by itself.
  chain: () => undefined,
};
const provider = providers[mode]?.();
if (!endpoint || !(mode in providers)) {
  console.error("usage: node sdk-caller.mjs http|container|chain|process ENDPOINT [PROFILE]");
  process.exit(2);
}
const sts = new STSClient({ endpoint, region: "us-east-1", ...(provider ? { credentials: provider } : {}) });
const out = await sts.send(new GetCallerIdentityCommand({}));
console.log(out.Arn);
