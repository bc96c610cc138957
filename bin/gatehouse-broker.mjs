#!/usr/bin/env node
// The central broker: gatehouse-broker --config FILE (see broker/gatehouse.example.yaml).
import { register } from "tsx/esm/api";

// The pinned AWS SDK runs on Node 20; its notice about future releases needing Node 22 is not for users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
await import("../broker/main.ts");
