// The signed-in window: the tab bar (Roles, Request, My requests, and Approvals for approvers, with its
// count), the current section, and the request draft, which survives moving between tabs.

import { useCallback, useEffect, useState } from "react";
import type { Role } from "../../../shared/api.ts";
import type { ErrorDraft, RequestContext, RequestTarget } from "../../../shared/ipc.ts";
import type { PermissionRequest } from "../../../shared/requests.ts";
import { errorCode, gatehouse } from "../gatehouse.ts";
import { AccessReviewScreen } from "./AccessReviewScreen.tsx";
import { ApprovalsScreen } from "./ApprovalsScreen.tsx";
import { MyRequestsScreen, requestTitle } from "./MyRequestsScreen.tsx";
import { OrganisationScreen } from "./OrganisationScreen.tsx";
import { RecordScreen } from "./RecordScreen.tsx";
import { newDraft, type RequestDraft, RequestScreen, withErrorDraft } from "./RequestScreen.tsx";
import { RolesScreen, type RolesScreenProps } from "./RolesScreen.tsx";
import { type TabId, Tabs } from "./Tabs.tsx";
import { TagChangesScreen } from "./TagChangesScreen.tsx";
import { TopBar } from "./TopBar.tsx";

const CONTEXT_POLL_MS = 15_000;

/** What the roles screen takes, less what the workspace itself adds (the tabs, the request actions). */
type Props = Omit<RolesScreenProps, "tabs" | "onRequestAccess" | "onRequestPermissions">;

export function Workspace(props: Props) {
  const { toast, onSignedOut, onOpenSettings } = props;
  const [tab, setTab] = useState<TabId>("roles");
  const [context, setContext] = useState<RequestContext>({
    approver: false,
    pendingApprovals: 0,
    approvalsRequired: 1,
    allowPermanent: false,
    admin: false,
  });
  const [contextLoaded, setContextLoaded] = useState(false);
  const [draft, setDraft] = useState<RequestDraft>(() => newDraft());
  const [highlight, setHighlight] = useState<string | null>(null);
  const [accounts, setAccounts] = useState<ReadonlyMap<string, string>>(new Map());

  const loadContext = useCallback(async () => {
    try {
      setContext(await gatehouse().requestContext());
      setContextLoaded(true);
    } catch (e) {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      // Otherwise the last known context stays (the broker may be away for a moment).
    }
  }, [onSignedOut]);

  useEffect(() => {
    void loadContext();
    const timer = window.setInterval(() => void loadContext(), CONTEXT_POLL_MS);
    return () => window.clearInterval(timer);
  }, [loadContext]);

  // Account names for targets that only carry an id (requests); the target search has them.
  useEffect(() => {
    gatehouse()
      .requestTargets({ limit: 500 })
      .then((list) => setAccounts(new Map(list.map((t) => [t.accountId, t.accountName]))))
      .catch(() => undefined);
  }, []);

  // The window's title carries the count too (the taskbar shows it).
  useEffect(() => {
    document.title = context.pendingApprovals > 0 ? `Gatehouse (${context.pendingApprovals})` : "Gatehouse";
    return () => {
      document.title = "Gatehouse";
    };
  }, [context.pendingApprovals]);

  useEffect(() => {
    if (
      (tab === "approvals" && !context.approver) ||
      ((tab === "tags" || tab === "organisation" || tab === "access") && !context.admin)
    )
      setTab("roles");
  }, [tab, context.approver, context.admin]);

  const select = useCallback(
    (t: TabId) => {
      setTab(t);
      void loadContext();
    },
    [loadContext],
  );

  const created = useCallback(
    (r: PermissionRequest) => {
      toast("ok", "Request sent", requestTitle(r, accounts));
      setDraft(newDraft());
      setHighlight(r.id);
      setTab("mine");
      void loadContext();
    },
    [toast, accounts, loadContext],
  );

  const queueChanged = useCallback(
    (count: number) =>
      setContext((c) => (c.pendingApprovals === count ? c : { ...c, pendingApprovals: count })),
    [],
  );

  const requestAccess = useCallback(() => {
    setDraft((d) => ({ ...d, kind: "role-access" }));
    setTab("request");
  }, []);

  // From a role in the list: a policy request with that role among the targets.
  const requestPermissions = useCallback((role: Role) => {
    const target: RequestTarget = {
      arn: role.arn,
      accountId: role.accountId,
      accountName: role.accountName,
      type: "role",
      name: role.roleName,
      description: role.description,
      mine: true,
    };
    setDraft((d) => ({
      ...d,
      kind: "inline-policy",
      targets: d.targets.some((t) => t.arn === role.arn) ? d.targets : [...d.targets, target],
    }));
    setTab("request");
  }, []);

  // "Request what was denied" after a recording: the request panel, drafted with exactly those actions.
  const requestDenied = useCallback((e: ErrorDraft) => {
    setDraft((d) => withErrorDraft(d, e));
    setTab("request");
  }, []);

  const signOut = async () => {
    try {
      await gatehouse().signOut();
    } finally {
      onSignedOut();
    }
  };

  const tabs = (
    <Tabs
      current={tab}
      approver={context.approver}
      pendingApprovals={context.pendingApprovals}
      admin={context.admin}
      loaded={contextLoaded}
      onSelect={select}
    />
  );

  if (tab === "roles")
    return (
      <RolesScreen
        {...props}
        tabs={tabs}
        onRequestAccess={requestAccess}
        onRequestPermissions={requestPermissions}
      />
    );

  return (
    <>
      <TopBar tabs={tabs} onOpenSettings={onOpenSettings} onSignOut={signOut} />
      <main className="section-screen" role="tabpanel" aria-label={TAB_NAMES[tab]}>
        {tab === "request" ? (
          <RequestScreen
            draft={draft}
            onDraft={setDraft}
            onCreated={created}
            onSignedOut={onSignedOut}
            allowPermanent={context.allowPermanent}
          />
        ) : tab === "mine" ? (
          <MyRequestsScreen
            accounts={accounts}
            highlight={highlight}
            toast={toast}
            onSignedOut={onSignedOut}
            onNewRequest={() => setTab("request")}
          />
        ) : tab === "record" ? (
          <RecordScreen toast={toast} onSignedOut={onSignedOut} onRequestDenied={requestDenied} />
        ) : tab === "tags" ? (
          <TagChangesScreen toast={toast} onSignedOut={onSignedOut} />
        ) : tab === "organisation" ? (
          <OrganisationScreen toast={toast} onSignedOut={onSignedOut} />
        ) : tab === "access" ? (
          <AccessReviewScreen toast={toast} onSignedOut={onSignedOut} />
        ) : (
          <ApprovalsScreen
            accounts={accounts}
            approvalsRequired={context.approvalsRequired}
            toast={toast}
            onSignedOut={onSignedOut}
            onChanged={queueChanged}
          />
        )}
      </main>
    </>
  );
}

const TAB_NAMES: Record<Exclude<TabId, "roles">, string> = {
  request: "Request",
  mine: "My requests",
  record: "Record",
  approvals: "Approvals",
  tags: "Tag changes",
  organisation: "Organisation",
  access: "Access review",
};
