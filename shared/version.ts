// The version of Gatehouse this code is: what `gatehouse --version` prints and the agent reports, so that
// `gatehouse doctor` can tell a CLI from an agent of another release.

export const VERSION = "0.1.0";
