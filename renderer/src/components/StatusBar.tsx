// The bottom line: who is signed in, whether the broker answers, and the time left on credentials in use.

import type { DesktopStatus } from "../../../shared/ipc.ts";
import { formatRemaining } from "../time.ts";
import { useNow } from "../useNow.ts";

function Broker({ reachable, url }: { reachable: boolean | null; url: string }) {
  const [state, text] =
    reachable === true
      ? ["ok", "Broker reachable"]
      : reachable === false
        ? ["down", "Broker unreachable"]
        : ["unknown", "Broker not contacted yet"];
  return (
    <span className={`status-item broker ${state}`} title={url}>
      <span className="led" aria-hidden="true" />
      {text}
    </span>
  );
}

function Credentials({ cached }: { cached: DesktopStatus["cached"] }) {
  const now = useNow(1000);
  const live = cached
    .map((c) => ({ role: c.role, left: Date.parse(c.expiration) - now }))
    .filter((c) => c.left > 0)
    .sort((a, b) => a.left - b.left);
  const first = live[0];
  if (!first) return <span className="status-item muted">No credentials in use</span>;
  const all = live.map((c) => `${c.role}: ${formatRemaining(c.left)} left`).join("\n");
  return (
    <span className="status-item credentials" title={all}>
      <span className="mono">{first.role}</span>
      <span className={`time-left${first.left < 5 * 60_000 ? " soon" : ""}`} data-testid="time-left">
        {formatRemaining(first.left)} left
      </span>
      {live.length > 1 ? <span className="muted">+{live.length - 1} more</span> : null}
    </span>
  );
}

export function StatusBar({ status }: { status: DesktopStatus | null }) {
  return (
    <footer className="status-bar">
      {status?.email ? (
        <span className="status-item user">
          <span className="avatar" aria-hidden="true">
            {status.email.slice(0, 1).toUpperCase()}
          </span>
          {status.email}
        </span>
      ) : (
        <span className="status-item muted">Not signed in</span>
      )}
      {status ? <Broker reachable={status.brokerReachable} url={status.brokerUrl} /> : null}
      <span className="spacer" />
      {status ? <Credentials cached={status.cached} /> : null}
    </footer>
  );
}
