#!/usr/bin/env node
// The central broker: gatehouse-broker --config FILE (see broker/gatehouse.example.yaml).
import { register } from "tsx/esm/api";

register();
await import("../broker/main.ts");
