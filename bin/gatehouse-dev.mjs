#!/usr/bin/env node
// Development tools (AWS emulator, and later the IdP and the whole stack), run from TypeScript source.
import { register } from "tsx/esm/api";

// The pinned AWS SDK runs on Node 20; its notice about future releases needing Node 22 is not for users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
await import("../dev/cli.ts");
