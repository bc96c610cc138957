#!/usr/bin/env node
// The gatehouse command. Later issues add its subcommands (login, roles, credential-process, …).
import { register } from "tsx/esm/api";

register();
await import("../electron/cli/main.ts");
