#!/usr/bin/env node
// Development tools (AWS emulator, and later the IdP and the whole stack), run from TypeScript source.
import { register } from "tsx/esm/api";

register();
await import("../dev/cli.ts");
