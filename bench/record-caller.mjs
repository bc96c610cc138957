// The command the record bench times: N STS GetCallerIdentity calls on the AWS SDK for JavaScript v3.
//   node record-caller.mjs N ENDPOINT   → straight to ENDPOINT (not recorded)
//   HTTPS_PROXY=… node record-caller.mjs N → the SDK's own endpoint through the proxy
// Through the proxy it uses a keep-alive https.Agent that tunnels with CONNECT (as hpagent does), so that
// connections and TLS sessions are reused as the SDK's own agent reuses them; https-proxy-agent 7 opens a
// new tunnel per call and would time its own handshakes rather than the recording.
import { request as httpRequest } from "node:http";
import { Agent } from "node:https";
import { connect } from "node:tls";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { NodeHttpHandler } from "@smithy/node-http-handler";

class TunnelAgent extends Agent {
  constructor(proxy) {
    super({ keepAlive: true });
    this.proxy = new URL(proxy);
  }
  createConnection(options, done) {
    const auth = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
    const req = httpRequest({
      host: this.proxy.hostname,
      port: this.proxy.port,
      method: "CONNECT",
      path: `${options.host}:${options.port ?? 443}`,
      headers: { "proxy-authorization": `Basic ${Buffer.from(auth).toString("base64")}` },
    });
    req.once("connect", (res, socket) => {
      if (res.statusCode !== 200) return done(new Error(`proxy answered ${res.statusCode}`));
      done(null, connect({ ...options, socket, servername: options.servername ?? options.host }));
    });
    req.once("error", done);
    req.end();
  }
}

const [n, endpoint] = process.argv.slice(2);
const proxy = process.env.HTTPS_PROXY;
const sts = new STSClient({
  region: "us-east-1",
  ...(proxy ? { requestHandler: new NodeHttpHandler({ httpsAgent: new TunnelAgent(proxy) }) } : { endpoint }),
});
for (let i = 0; i < Number(n); i++) await sts.send(new GetCallerIdentityCommand({}));
