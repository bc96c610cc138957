// A task on the AWS SDK for JavaScript v3 (which has no client-side monitoring), for recording through the proxy:
//   node iam-v3-script.mjs [ROLE…]   → ListRoles, ListUsers, then GetRole for each ROLE; prints OK/DENIED lines.
// It uses the SDK's default endpoint (https://iam.amazonaws.com) and, like any v3 user behind a proxy, an
// https-proxy-agent for HTTPS_PROXY (Node 20 does not read it by itself). Exit 1 if any call failed.
import { GetRoleCommand, IAMClient, ListRolesCommand, ListUsersCommand } from "@aws-sdk/client-iam";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import httpsProxyAgent from "https-proxy-agent";

const { HttpsProxyAgent } = httpsProxyAgent;

const proxy = process.env.HTTPS_PROXY;
const iam = new IAMClient({
  region: "us-east-1",
  ...(proxy ? { requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsProxyAgent(proxy) }) } : {}),
});
let failed = 0;
async function call(name, command) {
  try {
    await iam.send(command);
    console.log(`OK ${name}`);
  } catch (e) {
    failed++;
    console.log(`DENIED ${name} ${e.name}`);
  }
}
await call("ListRoles", new ListRolesCommand({}));
await call("ListUsers", new ListUsersCommand({}));
for (const role of process.argv.slice(2))
  await call(`GetRole ${role}`, new GetRoleCommand({ RoleName: role }));
process.exit(failed ? 1 : 0);
