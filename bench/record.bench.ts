// `gatehouse exec --record`'s cost: one command making 500 AWS calls, recorded vs. not recorded, measured in
// the same run. Through CSM: a botocore loop (the AWS CLI's own library) with and without a listening
// recording (goal ≤ 1.1×). Through the proxy: a JS SDK v3 loop straight to the endpoint vs. through the
// recording proxy with its TLS (goal ≤ 1.5×). The emulator runs on a thread of its own, as AWS would.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { DEMO_KEY } from "../dev/aws/fixture.ts";
import { startRecording } from "../electron/agent/record/recording.ts";
import { startEmulatorThread } from "./emulator-thread.ts";
import { defineBench } from "./lib.ts";

const CALLS = 500;
const CSM_GOAL = 1.1;
const PROXY_GOAL = 1.5;
const CALLER = join(import.meta.dirname, "record-caller.mjs");
/** botocore as the AWS CLI v2 ships it: the CLI's own code path, without its per-process start-up. */
const BOTOCORE_LOOP = `
import os
from awscli.botocore.session import get_session
c = get_session().create_client("sts", region_name="us-east-1", endpoint_url=os.environ["BENCH_ENDPOINT"])
for _ in range(int(os.environ["BENCH_CALLS"])):
    c.get_caller_identity()
`;

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env, maxBuffer: 1 << 20, timeout: 300_000 }, (e, _out, err) =>
      e ? reject(new Error(`${file} failed: ${err || e.message}`)) : resolve(),
    ),
  );
}

defineBench({
  name: "record",
  description: `a command making ${CALLS} AWS calls, recorded (CSM; proxy) vs. not recorded`,
  async run(ctx) {
    const emulator = await startEmulatorThread({ accounts: 1, roles: 1, users: 0 });
    const base = {
      ...process.env,
      AWS_ACCESS_KEY_ID: DEMO_KEY.id,
      AWS_SECRET_ACCESS_KEY: DEMO_KEY.secret,
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      BENCH_ENDPOINT: emulator.url,
      BENCH_CALLS: String(CALLS),
    };
    const csm = await startRecording({ csm: true });
    const proxy = await startRecording({ csm: false, proxy: true, upstream: emulator.url });
    try {
      const [, csmResult] = await ctx.compare(
        [
          {
            name: "botocore.plain",
            note: `${CALLS} calls, no recording`,
            iterations: 3,
            warmup: 1,
            concurrency: 1,
            maxSeconds: 240,
            op: () => run("/usr/bin/python3", ["-c", BOTOCORE_LOOP], base),
          },
          {
            name: "botocore.csm",
            note: `${CALLS} calls, CSM datagrams to the recording`,
            iterations: 3,
            warmup: 1,
            concurrency: 1,
            maxSeconds: 240,
            baseline: "botocore.plain",
            op: () => run("/usr/bin/python3", ["-c", BOTOCORE_LOOP], { ...base, ...csm.env }),
          },
        ],
        { rounds: 2 },
      );
      const [, proxyResult] = await ctx.compare(
        [
          {
            name: "sdkv3.plain",
            note: `${CALLS} calls straight to the endpoint`,
            iterations: 3,
            warmup: 1,
            concurrency: 1,
            maxSeconds: 240,
            op: () => run(process.execPath, [CALLER, String(CALLS), emulator.url], base),
          },
          {
            name: "sdkv3.proxy",
            note: `${CALLS} calls through the recording proxy (TLS)`,
            iterations: 3,
            warmup: 1,
            concurrency: 1,
            maxSeconds: 240,
            baseline: "sdkv3.plain",
            op: () => run(process.execPath, [CALLER, String(CALLS)], { ...base, ...proxy.env }),
          },
        ],
        { rounds: 2 },
      );
      // The recordings really saw every call (a bench of a recording that missed them would flatter it).
      const seenCsm = csm.calls.length;
      const seenProxy = proxy.calls.length;
      await Promise.all([
        csm.stop({ role: "bench", command: [], exitCode: 0 }),
        proxy.stop({ role: "bench", command: [], exitCode: 0 }),
      ]);
      if (seenCsm < CALLS || seenProxy < CALLS)
        throw new Error(
          `the recordings saw ${seenCsm} (CSM) and ${seenProxy} (proxy) calls; expected at least ${CALLS} each`,
        );
      console.log(
        `record: CSM ${csmResult!.ratio?.toFixed(2)}× (goal ≤ ${CSM_GOAL}×, ${seenCsm} calls seen); proxy ${proxyResult!.ratio?.toFixed(2)}× (goal ≤ ${PROXY_GOAL}×, ${seenProxy} calls seen)`,
      );
    } finally {
      await csm.stop({ role: "bench", command: [], exitCode: 0 });
      await proxy.stop({ role: "bench", command: [], exitCode: 0 });
      await emulator.close();
    }
  },
});
