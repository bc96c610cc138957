// The managed-policy part of the request panel: "I want to use…" a service, or a policy's name, then one
// of the policies found (read-only first, each with the lint's risk), shown read-only with its findings.

import { useEffect, useId, useRef, useState } from "react";
import type { CataloguePolicy, CataloguePolicyDetail, CatalogueService } from "../../../shared/catalogue.ts";
import { errorText, gatehouse } from "../gatehouse.ts";
import { PolicyEditor } from "./LazyPolicyEditor.tsx";
import { RiskBadge } from "./RequestParts.tsx";

const SEARCH_DELAY_MS = 200;
const LIMIT = 12;

interface Props {
  /** The chosen policy's ARN. */
  value: string | undefined;
  onChange(arn: string | undefined): void;
  /** The account of the first target, so that its own policies are offered too. */
  account?: string;
}

/** The dataset keeps documents compact; people read them indented. */
function pretty(doc: string): string {
  try {
    return JSON.stringify(JSON.parse(doc), null, 2);
  } catch {
    return doc;
  }
}

/** Runs `load` after a pause in typing; only the latest answer is kept. */
function useSearch<T>(key: string, load: () => Promise<T>, enabled: boolean) {
  const [result, setResult] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names everything `load` reads
  useEffect(() => {
    const mine = ++seq.current;
    if (!enabled) {
      setResult(null);
      return;
    }
    const timer = window.setTimeout(async () => {
      try {
        const got = await load();
        if (mine !== seq.current) return;
        setResult(got);
        setError(null);
      } catch (e) {
        if (mine === seq.current) setError(errorText(e));
      }
    }, SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [key, enabled]);
  return { result, error };
}

export function ManagedPolicyPicker({ value, onChange, account }: Props) {
  const id = useId();
  const [serviceQuery, setServiceQuery] = useState("");
  const [service, setService] = useState<CatalogueService | null>(null);
  const [nameQuery, setNameQuery] = useState("");

  const services = useSearch(
    serviceQuery,
    () => gatehouse().catalogueServices({ query: serviceQuery.trim(), limit: 6 }),
    serviceQuery.trim().length > 0 && service === null,
  );
  const policyKey = `${service?.prefix ?? ""}|${nameQuery.trim()}|${account ?? ""}`;
  const policies = useSearch(
    policyKey,
    () =>
      gatehouse().cataloguePolicies({
        ...(service ? { service: service.prefix } : {}),
        ...(nameQuery.trim() ? { query: nameQuery.trim() } : {}),
        ...(account ? { account } : {}),
        limit: LIMIT,
      }),
    service !== null || nameQuery.trim().length > 0,
  );

  const list: CataloguePolicy[] = policies.result ?? [];

  return (
    <section className="policy-section managed-policy" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="section-heading">
        Managed policy
      </h3>
      <div className="template-row">
        <div className="field grow">
          <label htmlFor={`${id}-service`}>I want to use… (a service)</label>
          {service ? (
            <div className="chosen">
              <ul className="chips" aria-label="Chosen service">
                <li className="chip">
                  <span>
                    {service.name} <span className="muted mono">({service.prefix})</span>
                  </span>
                  <button
                    type="button"
                    className="icon-btn"
                    aria-label={`Clear the service ${service.name}`}
                    onClick={() => {
                      setService(null);
                      setServiceQuery("");
                    }}
                  >
                    ×
                  </button>
                </li>
              </ul>
            </div>
          ) : (
            <input
              id={`${id}-service`}
              type="search"
              placeholder="MSK, EC2, S3, Lambda…"
              spellCheck={false}
              autoComplete="off"
              value={serviceQuery}
              aria-describedby={`${id}-service-hint`}
              onChange={(e) => setServiceQuery(e.target.value)}
            />
          )}
          <span id={`${id}-service-hint`} className="hint">
            AWS's own policies for the service, read-only first.
          </span>
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-name`}>Policy name</label>
          <input
            id={`${id}-name`}
            type="search"
            className="mono"
            placeholder="AmazonMSKReadOnlyAccess, or part of a name"
            spellCheck={false}
            autoComplete="off"
            value={nameQuery}
            onChange={(e) => setNameQuery(e.target.value)}
          />
        </div>
      </div>

      {services.error || policies.error ? (
        <div className="alert error" role="alert">
          <strong className="alert-title">The catalogue could not be searched.</strong>{" "}
          {services.error ?? policies.error}
        </div>
      ) : null}

      {!service && services.result ? (
        <fieldset className="field wide catalogue-choices">
          <legend>Services</legend>
          {services.result.length === 0 ? (
            <span className="muted">No service matches “{serviceQuery.trim()}”.</span>
          ) : (
            <ul className="catalogue-list">
              {services.result.map((s) => (
                <li key={s.prefix}>
                  <button type="button" className="link" onClick={() => setService(s)}>
                    {s.name}
                  </button>{" "}
                  <span className="muted mono">{s.prefix}</span>{" "}
                  <span className="muted">
                    · {s.policies} {s.policies === 1 ? "policy" : "policies"}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
      ) : null}

      {policies.result ? (
        <fieldset className="field wide catalogue-choices">
          <legend>{service ? `Policies for ${service.name}` : "Policies"}</legend>
          {list.length === 0 ? (
            <span className="muted">No managed policy matches.</span>
          ) : (
            <ul className="catalogue-list">
              {list.map((p) => (
                <li key={p.arn} title={p.arn}>
                  <label className="catalogue-policy">
                    <input
                      type="radio"
                      name={`${id}-policy`}
                      value={p.arn}
                      checked={value === p.arn}
                      onChange={() => onChange(p.arn)}
                    />
                    <span className="mono">{p.name}</span>
                    <RiskBadge risk={p.risk} />
                    {p.readOnly ? <span className="badge">read-only</span> : null}
                    {p.managedBy === "customer" ? <span className="badge">this account's</span> : null}
                    <span className="muted catalogue-services">
                      {p.services.slice(0, 4).join(", ")}
                      {p.services.length > 4 ? ` and ${p.services.length - 4} more` : ""}
                    </span>
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
      ) : null}

      {value ? <ManagedPolicyView arn={value} account={account} /> : null}
    </section>
  );
}

/** One managed policy as approvers and requesters read it: name, risk and why, the document read-only. */
export function ManagedPolicyView({ arn, account }: { arn: string; account?: string }) {
  const [detail, setDetail] = useState<CataloguePolicyDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    setError(null);
    gatehouse()
      .cataloguePolicy({ arn, ...(account ? { account } : {}) })
      .then(
        (d) => alive && setDetail(d),
        (e) => alive && setError(errorText(e)),
      );
    return () => {
      alive = false;
    };
  }, [arn, account]);

  if (error)
    return (
      <div className="alert error" role="alert">
        <strong className="alert-title">The policy {arn} could not be read.</strong> {error}
      </div>
    );
  if (!detail || detail.arn !== arn) return <p className="hint">Reading {arn}…</p>;
  return (
    <section className="catalogue-detail" aria-label={`Policy ${detail.name}`}>
      <p>
        <strong className="mono">{detail.name}</strong> <RiskBadge risk={detail.risk} />{" "}
        <span className="muted mono">{detail.arn}</span>
      </p>
      {detail.description ? <p className="hint">{detail.description}</p> : null}
      {detail.findings.reasons.length > 0 ? (
        <ul className="risk-reasons" aria-label="Why this risk">
          {detail.findings.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ) : null}
      <PolicyEditor value={pretty(detail.document)} readOnly label="Managed policy document" />
    </section>
  );
}
