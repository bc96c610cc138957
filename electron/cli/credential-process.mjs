// @ts-check
// `gatehouse credential-process --role ROLE`: what the AWS CLI and SDKs run for every call. Node
// built-ins only (no bundle, no zod, no SDK): ask the agent, print the credential_process JSON.

import { AgentError, callAgent, explain } from "./agent-client.mjs";

const USAGE =
  "usage: gatehouse credential-process --role ROLE   (ROLE: account/role, account-id/role or a role ARN)";

/** @param {string[]} argv */
export async function credentialProcess(argv) {
  let role;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--role") role = argv[++i];
    else if (a?.startsWith("--role=")) role = a.slice(7);
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else {
      process.stderr.write(`gatehouse: unexpected argument "${a}" [BAD_ARGUMENT]\n${USAGE}\n`);
      return 2;
    }
  }
  if (!role) {
    process.stderr.write(`gatehouse: --role is required [BAD_ARGUMENT]\n${USAGE}\n`);
    return 2;
  }
  try {
    const c = await callAgent("POST", "/v1/credentials", { role });
    // Never print what could not work: an empty key or an expired credential is an error, not output.
    if (
      c?.Version !== 1 ||
      !c.AccessKeyId ||
      !c.SecretAccessKey ||
      !c.SessionToken ||
      !(Date.parse(c.Expiration) > Date.now())
    ) {
      process.stderr.write("gatehouse: the agent returned unusable credentials [INTERNAL]\n");
      return 1;
    }
    process.stdout.write(`${JSON.stringify(c)}\n`);
    return 0;
  } catch (e) {
    const err =
      e instanceof AgentError
        ? e
        : new AgentError(
            "AGENT_UNREACHABLE",
            `the agent cannot be reached: ${/** @type {Error} */ (e).message}`,
          );
    process.stderr.write(`gatehouse: ${explain(err.code, err.message, role)} [${err.code}]\n`);
    return 1;
  }
}
