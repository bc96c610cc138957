// The main screen once signed in: search, Favourites / Recent / every account's roles, each role's actions,
// or the empty state for someone with no role at all.

import { type ReactNode, type Ref, useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Role } from "../../../shared/api.ts";
import type { DesktopStatus } from "../../../shared/ipc.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import { buildRows, indexRoles, type Matches, matchRoles } from "../roles/search.ts";
import type { ShowToast } from "../useToast.ts";
import { EmptyState } from "./EmptyState.tsx";
import { HelpLine } from "./HelpLine.tsx";
import { Icon } from "./Icon.tsx";
import { RoleList, type RoleListHandle } from "./RoleList.tsx";
import type { CopyKind, RoleActions } from "./RoleRowView.tsx";
import { SearchBox } from "./SearchBox.tsx";
import { TopBar } from "./TopBar.tsx";

export interface RolesScreenProps {
  status: DesktopStatus | null;
  searchRef: Ref<HTMLInputElement>;
  focusSearch(): void;
  toast: ShowToast;
  /** Something changed what status() reports (credentials cached, broker answered). */
  onStatusChanged(): void;
  onSignedOut(): void;
  onOpenSettings(): void;
  /** The tab bar, shown in the top bar. */
  tabs?: ReactNode;
  /** Ask for access to a role (the empty state offers it). */
  onRequestAccess?: () => void;
  /** Ask for more permissions on one of the person's roles. */
  onRequestPermissions?: (role: Role) => void;
}

const count = new Intl.NumberFormat("en");

const COPIED: Record<CopyKind, (role: Role, text: string) => string> = {
  profile: (_role, text) => `Profile name ${text}`,
  credentialProcess: (role) => `credential_process line for ${role.ref}`,
  envExport: (role) => `Environment variables for ${role.ref} (secret: paste them only into your shell)`,
};

export function RolesScreen(props: RolesScreenProps) {
  const { status, searchRef, focusSearch, toast, onStatusChanged, onSignedOut, onOpenSettings, tabs } = props;
  const { onRequestAccess, onRequestPermissions } = props;
  const [roles, setRoles] = useState<Role[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [refreshing, setRefreshing] = useState(false);
  const [favourites, setFavourites] = useState<string[]>([]);
  const [recent, setRecent] = useState<string[]>([]);
  const [query, setQuery] = useState("");
  const listRef = useRef<RoleListHandle>(null);
  const favouritesRef = useRef(favourites);
  favouritesRef.current = favourites;

  const failed = useCallback(
    (e: unknown, what: string) => {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else toast("error", what, errorText(e));
    },
    [onSignedOut, toast],
  );

  const load = useCallback(
    async (refresh: boolean) => {
      setRefreshing(true);
      try {
        const api = gatehouse();
        const [r, f, rec] = await Promise.all([api.roles({ refresh }), api.favourites(), api.recent()]);
        setRoles(r);
        setFavourites(f);
        setRecent(rec);
        setLoadError(null);
      } catch (e) {
        if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
        else setLoadError(errorText(e));
      } finally {
        setRefreshing(false);
        onStatusChanged();
      }
    },
    [onSignedOut, onStatusChanged],
  );

  useEffect(() => {
    void load(false);
  }, [load]);

  const reloadRecent = useCallback(async () => {
    setRecent(await gatehouse().recent());
    onStatusChanged();
  }, [onStatusChanged]);

  const actions = useMemo<RoleActions>(
    () => ({
      async openConsole(role) {
        if (role.cliOnly) {
          toast(
            "error",
            `${role.ref} is for the CLI only`,
            "Copy its profile name or credential_process line instead.",
          );
          return;
        }
        toast("ok", `Opening the console for ${role.ref}…`);
        try {
          const out = await gatehouse().openConsole({ role: role.ref });
          toast(
            "ok",
            `Console opened for ${role.ref}`,
            out.openedIn === "window" ? "In a Gatehouse window" : "In your browser",
          );
          await reloadRecent();
        } catch (e) {
          failed(e, `Could not open the console for ${role.ref}`);
        }
      },
      async copy(role, kind) {
        try {
          const { text } = await gatehouse().copyText({ role: role.ref, kind });
          await navigator.clipboard.writeText(text);
          toast("ok", "Copied", COPIED[kind](role, text));
          await reloadRecent();
        } catch (e) {
          failed(e, "Could not copy");
        }
      },
      ...(onRequestPermissions ? { requestPermissions: onRequestPermissions } : {}),
      async toggleFavourite(role) {
        const was = favouritesRef.current;
        const on = !was.includes(role.ref);
        setFavourites(on ? [...was, role.ref] : was.filter((r) => r !== role.ref));
        try {
          setFavourites(await gatehouse().setFavourite({ role: role.ref, favourite: on }));
        } catch (e) {
          setFavourites(was);
          failed(e, "Could not change favourites");
        }
      },
    }),
    [toast, failed, reloadRecent, onRequestPermissions],
  );

  const index = useMemo(() => indexRoles(roles ?? []), [roles]);
  // The previous matches let the next keystroke test only them (see matchRoles).
  const lastMatches = useRef<Matches | undefined>(undefined);
  const matched = useMemo(() => matchRoles(index, query, lastMatches.current), [index, query]);
  lastMatches.current = matched;
  const terms = matched.terms;
  const { rows, matches } = useMemo(
    () => buildRows(matched, { favourites, recent }),
    [matched, favourites, recent],
  );
  const favouriteSet = useMemo(() => new Set(favourites), [favourites]);
  const focusFirst = useCallback(() => listRef.current?.focusFirst(), []);

  const signOut = async () => {
    try {
      await gatehouse().signOut();
    } finally {
      onSignedOut();
    }
  };

  let body: ReactNode;
  if (roles === null) {
    body = loadError ? (
      <div className="center-message">
        <div className="alert error" role="alert">
          <strong className="alert-title">Your roles could not be loaded.</strong> {loadError}
        </div>
        <button type="button" className="btn primary" onClick={() => load(true)}>
          Try again
        </button>
      </div>
    ) : (
      <div className="center-message" role="status">
        <span className="spinner" aria-hidden="true" /> Loading your roles…
      </div>
    );
  } else if (roles.length === 0) {
    body = (
      <EmptyState
        email={status?.email ?? null}
        groups={status?.groups ?? []}
        onRefresh={() => load(true)}
        {...(onRequestAccess ? { onRequestAccess } : {})}
      />
    );
  } else {
    body = (
      <>
        <div className="toolbar">
          <SearchBox value={query} onChange={setQuery} onEnterResults={focusFirst} inputRef={searchRef} />
          <p className="results-count" aria-live="polite">
            {terms.length > 0
              ? `${count.format(matches)} of ${count.format(index.total)}`
              : count.format(index.total)}{" "}
            {index.total === 1 ? "role" : "roles"}
          </p>
        </div>
        {loadError ? (
          <div className="alert error banner" role="alert">
            <strong className="alert-title">Could not refresh your roles.</strong> {loadError}
          </div>
        ) : null}
        {rows.length > 0 ? (
          <RoleList
            ref={listRef}
            rows={rows}
            terms={terms}
            favourites={favouriteSet}
            actions={actions}
            label={terms.length > 0 ? "Matching roles" : "Roles"}
            onEscape={focusSearch}
          />
        ) : (
          <div className="center-message no-match">
            <Icon name="search" />
            <p>
              No role matches <strong>“{query.trim()}”</strong>. Search looks at account names and ids, role
              names, descriptions and tags.
            </p>
            <button type="button" className="btn ghost" onClick={() => setQuery("")}>
              Clear the search
            </button>
          </div>
        )}
        <HelpLine />
      </>
    );
  }

  return (
    <>
      <TopBar
        tabs={tabs}
        onRefresh={() => load(true)}
        refreshing={refreshing}
        onOpenSettings={onOpenSettings}
        onSignOut={signOut}
      />
      <main className="roles-screen" aria-busy={roles === null && !loadError}>
        {body}
      </main>
    </>
  );
}
