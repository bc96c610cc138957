// What tells a browser's request from an SDK's or the CLI's, for both local endpoints (the agent socket
// and the `gatehouse exec` server): SECURITY 5 and 38.

/**
 * The first header a browser sends and an SDK or the CLI never does: Origin, Referer (and Weep's
 * misspelt "referrer"), or any Sec-Fetch-* header whatever its value (a `no-cors` fetch may send
 * Sec-Fetch-Mode without Sec-Fetch-Site). Undefined when there is none.
 */
export function browserHeader(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === "origin" || name === "referer" || name === "referrer" || name.startsWith("sec-fetch-"))
      return name;
  }
  return undefined;
}
