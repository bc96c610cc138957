// The tray app's logic in plain Node (no Electron import): the agent service, favourites and recent
// roles, UI settings, clipboard texts and console opening. Electron's main process and the browser
// tests host the same object.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { RequestTarget, Role, TagChange } from "../../shared/api.ts";
import { iamDataActionFacts } from "../../shared/denials/catalogue.ts";
import { draftFromDenials, principalRef } from "../../shared/denials/draft.ts";
import { decodeDenials, parseDenials } from "../../shared/denials/parse.ts";
import { GatehouseError } from "../../shared/errors.ts";
import type { GrantExportFormat } from "../../shared/grants-export.ts";
import type { DesktopStatus, ErrorDraft, MarkedLint, RequestContext, UiSettings } from "../../shared/ipc.ts";
import { type ActionSuggestion, completeActions } from "../../shared/policy/complete.ts";
import { locate } from "../../shared/policy/locate.ts";
import { type LintOptions, lintPolicy, policySize } from "../../shared/policy-lint.ts";
import type { RecordState } from "../../shared/recording.ts";
import type {
  ApproveRequest,
  CreateRequest,
  PermissionRequest,
  ResolveTarget,
} from "../../shared/requests.ts";
import { findRole } from "../agent/agent.ts";
import { commandLine, profileName } from "../agent/aws-config.ts";
import { fetchClientConfig } from "../agent/client-config.ts";
import { formatExport } from "../agent/export.ts";
import { type ConfirmRecording, RecordService } from "../agent/record/record-service.ts";
import { deniedText } from "../agent/record/report.ts";
import { roleRegion } from "../agent/region.ts";
import { type AgentService, startAgentService } from "../agent/service.ts";
import { patchSettingsFile } from "../agent/settings.ts";

const RECENT_LIMIT = 8;

interface UiState {
  favourites: string[];
  recent: string[];
  consoleMode: "browser" | "window";
  launchAtLogin: boolean;
  theme: "system" | "light" | "dark";
}

export interface ConsoleOpener {
  /** Open a federated console URL for a role, in the browser or an app window. */
  open(url: string, role: Role, mode: "browser" | "window", expiresAt: string): Promise<void>;
  /** Open console windows (the tray lists them). */
  windows?(): { role: string; expiresAt: string }[];
}

export interface DesktopHooks {
  launchAtLogin?: (on: boolean) => void;
  /** A new count of requests waiting for this person's approval (the tray shows it). */
  onApprovals?: (ctx: RequestContext) => void;
  /**
   * "Record": the person's explicit yes to a command the window proposed (the app: a native modal dialog).
   * Without one, every proposal is refused: a renderer never starts a program on its own.
   */
  confirmRecording?: ConfirmRecording;
  /** "Save policy": where to write it (the app: a native save dialog); null when the person cancels. */
  choosePolicyPath?: (suggested: string) => Promise<string | null>;
  /** Where the recording proxy sends AWS calls instead of their host (tests: the emulator). */
  recordUpstream?: string;
}

export class DesktopCore {
  private state: UiState;
  private readonly statePath: string;

  private current: AgentService;
  /** Where sign-in URLs go (set again on the agent that replaces one for a new broker). */
  private signInOpener: ((url: string) => void) | undefined;
  /** The tray's "Record": one recording at a time, each confirmed by the person. */
  readonly recorder: RecordService;

  constructor(
    service: AgentService,
    private readonly opener: ConsoleOpener,
    private readonly hooks: DesktopHooks = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.current = service;
    this.statePath = join(service.paths.home, "ui.json");
    this.recorder = new RecordService({
      confirm: hooks.confirmRecording ?? (async () => false),
      ...(hooks.choosePolicyPath ? { choosePolicyPath: hooks.choosePolicyPath } : {}),
      ...(hooks.recordUpstream ? { upstream: hooks.recordUpstream } : {}),
      // Through `this.agent` each time: a new broker URL replaces the agent.
      credentials: (role) => this.agent.credentials(role),
      roleInfo: async (role) => {
        const r = await this.findRole(role).catch(() => undefined);
        return r ? { accountId: r.accountId, partition: r.arn.split(":")[1] ?? "aws" } : undefined;
      },
      region: (role) => {
        try {
          return roleRegion(role, this.env);
        } catch {
          return undefined;
        }
      },
      baseEnv: env,
    });
    this.state = {
      favourites: [],
      recent: [],
      consoleMode: "browser",
      launchAtLogin: false,
      theme: "system",
    };
    if (existsSync(this.statePath)) {
      try {
        this.state = {
          ...this.state,
          ...(JSON.parse(readFileSync(this.statePath, "utf8")) as Partial<UiState>),
        };
      } catch {
        // A broken UI state file only loses favourites and recents; the agent's settings are elsewhere.
      }
    }
  }

  static async start(env: NodeJS.ProcessEnv, opener: ConsoleOpener, hooks: DesktopHooks = {}) {
    return new DesktopCore(await startAgentService(env, { warn: () => undefined }), opener, hooks, env);
  }

  /** The agent service now running (replaced when the broker URL changes). */
  get service(): AgentService {
    return this.current;
  }

  setSignInOpener(open: ((url: string) => void) | undefined): void {
    this.signInOpener = open;
    this.current.setOpener(open);
  }

  /**
   * Points the desktop at a broker (the first screen asks only for its URL): the URL must answer as a broker,
   * then it is written to settings.json and the agent restarts, reading the broker's sign-in settings.
   */
  async setBroker(brokerUrl: string): Promise<{ brokerUrl: string }> {
    const url = brokerUrl.replace(/\/+$/, "");
    if (url === this.agent.settings.brokerUrl) return { brokerUrl: url };
    await fetchClientConfig(url);
    patchSettingsFile(this.current.paths, { brokerUrl: url });
    await this.current.stop();
    this.current = await startAgentService(this.env, { warn: () => undefined });
    this.current.setOpener(this.signInOpener);
    return { brokerUrl: url };
  }

  private save(): void {
    const tmp = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.statePath);
  }

  /**
   * The command-line tool moved (installed on PATH, or uninstalled): profiles name it by its new absolute
   * path from now on, and the managed block is rewritten at once.
   */
  setCliPath(path: string): void {
    this.agent.setCliCommand(commandLine([path]));
    this.agent.retargetAwsConfig();
  }

  private get agent() {
    return this.service.agent;
  }

  async status(): Promise<DesktopStatus> {
    const s = await this.agent.status();
    return {
      signedIn: s.signedIn,
      email: s.email,
      groups: s.groups,
      brokerUrl: s.brokerUrl,
      brokerReachable: s.brokerReachable,
      cached: s.cached,
      signedOutReason: s.signedOutReason,
    };
  }

  signIn() {
    return this.agent.login();
  }

  async signOut(): Promise<{ signedIn: false }> {
    await this.agent.logout();
    return { signedIn: false };
  }

  roles(refresh?: boolean): Promise<Role[]> {
    return this.agent.roles(refresh ?? false);
  }

  private async role(ref: string): Promise<Role> {
    return this.agent.resolve(ref);
  }

  private touchRecent(ref: string): void {
    this.state.recent = [ref, ...this.state.recent.filter((r) => r !== ref)].slice(0, RECENT_LIMIT);
    this.save();
  }

  async openConsole(ref: string, region?: string) {
    const out = await this.agent.console(ref, region);
    const mode = this.state.consoleMode;
    await this.opener.open(out.url, out.role, mode, out.expiresAt);
    this.touchRecent(out.role.ref);
    return { url: out.url, expiresAt: out.expiresAt, openedIn: mode };
  }

  async copyText(ref: string, kind: "profile" | "credentialProcess" | "envExport") {
    const role = await this.role(ref);
    const settings = this.agent.settings;
    let text: string;
    if (kind === "profile") {
      text = profileName(settings.profileTemplate, {
        account: role.accountName,
        accountId: role.accountId,
        role: role.roleName,
      });
    } else if (kind === "credentialProcess") {
      text = `credential_process = ${this.agent.cliCommand()} credential-process --role ${role.ref}`;
    } else {
      const c = await this.agent.credentials(role.ref);
      text = formatExport(c, "sh", role.ref);
    }
    this.touchRecent(role.ref);
    return { text };
  }

  favourites(): string[] {
    return this.state.favourites;
  }

  setFavourite(ref: string, favourite: boolean): string[] {
    const rest = this.state.favourites.filter((r) => r !== ref);
    this.state.favourites = favourite ? [...rest, ref] : rest;
    this.save();
    return this.state.favourites;
  }

  recent(): string[] {
    return this.state.recent;
  }

  getSettings(): UiSettings {
    const s = this.agent.settings;
    return {
      brokerUrl: s.brokerUrl,
      consoleMode: this.state.consoleMode,
      refreshWindowSeconds: s.refreshWindowSeconds,
      profileTemplate: s.profileTemplate,
      launchAtLogin: this.state.launchAtLogin,
      theme: this.state.theme,
    };
  }

  /** Agent settings are written to settings.json (the agent reads them at its next start); UI ones apply now. */
  updateSettings(patch: Partial<UiSettings>): UiSettings {
    const paths = this.service.paths;
    const agentPatch = {
      ...(patch.brokerUrl !== undefined ? { brokerUrl: patch.brokerUrl } : {}),
      ...(patch.refreshWindowSeconds !== undefined
        ? { refreshWindowSeconds: patch.refreshWindowSeconds }
        : {}),
      ...(patch.profileTemplate !== undefined ? { profileTemplate: patch.profileTemplate } : {}),
    };
    if (Object.keys(agentPatch).length > 0) {
      // Only the changed keys: writing every default would pin the IdP settings the broker publishes.
      patchSettingsFile(paths, agentPatch);
      Object.assign(this.agent.settings, agentPatch);
    }
    if (patch.consoleMode) this.state.consoleMode = patch.consoleMode;
    if (patch.theme) this.state.theme = patch.theme;
    if (patch.launchAtLogin !== undefined) {
      this.state.launchAtLogin = patch.launchAtLogin;
      this.hooks.launchAtLogin?.(patch.launchAtLogin);
    }
    this.save();
    return this.getSettings();
  }

  consoleWindows() {
    const now = Date.now();
    return (this.opener.windows?.() ?? []).map((w) => ({ ...w, expired: Date.parse(w.expiresAt) <= now }));
  }

  // ---- permission requests ------------------------------------------------------------------

  /** Whether the approvals tab shows, and its count; `onApprovals` hears every new count (the tray badge). */
  async requestContext(): Promise<RequestContext> {
    const me = await this.agent.broker.me();
    // The same answer carries the broker's lint options: no second /v1/me for the editor.
    this.lintOptions = { at: Date.now(), value: Promise.resolve(me.lint ?? {}) };
    const pending = me.approver ? (await this.agent.broker.requests("approver")).length : 0;
    const ctx = {
      approver: me.approver,
      pendingApprovals: pending,
      approvalsRequired: me.requests?.approvalsRequired ?? 1,
      allowPermanent: me.requests?.allowPermanent ?? false,
      admin: me.admin,
    };
    this.publishApprovals(ctx);
    return ctx;
  }

  private lastApprovals: number | undefined;
  private lastContext = { approvalsRequired: 1, allowPermanent: false, admin: false };
  private publishApprovals(ctx: RequestContext): void {
    this.lastContext = {
      approvalsRequired: ctx.approvalsRequired,
      allowPermanent: ctx.allowPermanent,
      admin: ctx.admin,
    };
    if (ctx.pendingApprovals !== this.lastApprovals) {
      this.lastApprovals = ctx.pendingApprovals;
      this.hooks.onApprovals?.(ctx);
    }
  }

  // ---- administrators ------------------------------------------------------------------------

  organisation() {
    return this.agent.broker.organisation();
  }

  runDoctor() {
    return this.agent.broker.runDoctor();
  }

  accessReport(unusedDays?: number) {
    return this.agent.broker.accessReport(unusedDays);
  }

  grantsExport(o: { format: GrantExportFormat; active?: boolean; account?: string }) {
    return this.agent.broker.grantsExport(o);
  }

  syncAccount(accountId: string) {
    return this.agent.broker.syncAccount(accountId);
  }

  requestTargets(query?: string, limit?: number): Promise<RequestTarget[]> {
    return this.agent.broker.targets(query ?? "", limit);
  }

  catalogueServices(query?: string, limit?: number) {
    return this.agent.broker.catalogueServices(query ?? "", limit);
  }

  cataloguePolicies(opts: { query?: string; service?: string; account?: string; limit?: number }) {
    return this.agent.broker.cataloguePolicies(opts);
  }

  cataloguePolicy(arn: string, account?: string) {
    return this.agent.broker.cataloguePolicy(arn, account);
  }

  catalogueGroups(account: string, query?: string) {
    return this.agent.broker.catalogueGroups(account, query);
  }

  private lintOptions: { at: number; value: Promise<LintOptions> } | undefined;

  /** The broker's lint options (its roles, access tag keys), asked once every 5 minutes. */
  private brokerLintOptions(): Promise<LintOptions> {
    const now = Date.now();
    if (!this.lintOptions || now - this.lintOptions.at > 300_000) {
      const value = this.agent.broker.me().then(
        (me) => me.lint ?? {},
        () => {
          this.lintOptions = undefined; // not signed in or broker down: lint without them, ask again later
          return {};
        },
      );
      this.lintOptions = { at: now, value };
    }
    return this.lintOptions.value;
  }

  /** The shared lint with the ranges the editor marks, run here where the actions catalogue is. */
  async lintPolicy(policy: string): Promise<MarkedLint> {
    const r = await lintPolicy(policy, await this.brokerLintOptions());
    return { ...r, findings: locate(policy, r.findings), size: policySize(policy) };
  }

  completeActions(prefix: string, limit?: number): Promise<ActionSuggestion[]> {
    return completeActions(prefix, limit);
  }

  /**
   * "Paste an error": the same parse and draft as `gatehouse request from-error`, with the targets this
   * person may ask for (the broker's target search, by each denied principal's name). Creates nothing: the
   * request panel shows the draft, and the person sends it as any other request.
   */
  async draftFromError(text: string): Promise<ErrorDraft> {
    // As the CLI does: EC2's encoded messages are decoded by the broker, which says who may read them.
    const denials = await decodeDenials(
      parseDenials(text),
      async (encoded) => (await this.agent.broker.decodeDenial({ encoded })).decoded,
    );
    const refs = new Map(
      denials
        .filter((d) => d.fixable)
        .map((d) => principalRef(d.principal))
        .filter((r) => r !== null)
        .map((r) => [`${r.accountId}/${r.type}/${r.name}`, r]),
    );
    const targets: RequestTarget[] = [];
    for (const r of refs.values()) {
      try {
        targets.push(...(await this.agent.broker.targets(r.name, 500)));
      } catch (e) {
        // As the CLI does: where the broker lists targets only to approvers, the principal itself is
        // offered, and the broker, which resolves every target of a request, refuses one it does not manage.
        if (!(e instanceof GatehouseError && e.code === "FORBIDDEN")) throw e;
        const arn = `arn:${r.partition}:iam::${r.accountId}:${r.type}/${r.name}`;
        targets.push({
          arn,
          accountId: r.accountId,
          accountName: r.accountId,
          type: r.type,
          name: r.name,
          description: null,
          mine: false,
        });
      }
    }
    const draft = await draftFromDenials(denials, targets, iamDataActionFacts);
    // draftFromDenials hands back the managed target it matched: one of `targets`, with its account name.
    const target = targets.find((t) => t.arn === draft.target.arn)!;
    return {
      target,
      actions: draft.actions,
      dependent: draft.dependent,
      policy: JSON.stringify(draft.policy, null, 2),
      denials: draft.denials.length,
      refused: draft.refused.map((r) => ({
        action: r.denial.action ?? r.denial.operation ?? "a call",
        reason: r.reason,
        fixer: r.denial.fixer,
      })),
    };
  }

  createRequest(body: CreateRequest): Promise<PermissionRequest> {
    return this.agent.broker.createRequest(body);
  }

  myRequests(): Promise<PermissionRequest[]> {
    return this.agent.broker.requests("requester");
  }

  async approvals(): Promise<PermissionRequest[]> {
    const list = await this.agent.broker.requests("approver");
    this.publishApprovals({
      approver: true,
      pendingApprovals: list.length,
      approvalsRequired: this.lastContext.approvalsRequired,
      allowPermanent: this.lastContext.allowPermanent,
      admin: this.lastContext.admin,
    });
    return list;
  }

  getRequest(id: string): Promise<PermissionRequest> {
    return this.agent.broker.request(id);
  }

  private async acted(p: Promise<PermissionRequest>): Promise<PermissionRequest> {
    const r = await p;
    // The badge follows at once instead of at the next poll.
    this.requestContext().catch(() => undefined);
    return r;
  }

  approveRequest(id: string, body: ApproveRequest): Promise<PermissionRequest> {
    return this.acted(this.agent.broker.actOnRequest(id, "approve", body));
  }

  rejectRequest(id: string, reason: string): Promise<PermissionRequest> {
    return this.acted(this.agent.broker.actOnRequest(id, "reject", { reason }));
  }

  cancelRequest(id: string): Promise<PermissionRequest> {
    return this.acted(this.agent.broker.actOnRequest(id, "cancel"));
  }

  retryRequest(id: string): Promise<PermissionRequest> {
    return this.acted(this.agent.broker.actOnRequest(id, "retry"));
  }

  resolveTarget(id: string, n: number, body: ResolveTarget): Promise<PermissionRequest> {
    return this.acted(this.agent.broker.resolveTarget(id, n, body));
  }

  // ---- admins --------------------------------------------------------------------------------

  /** Held access-tag changes, oldest first (the order they should be looked at); the broker checks admin. */
  async heldTagChanges(): Promise<TagChange[]> {
    return (await this.agent.broker.tagChanges("held")).sort((a, b) => a.id - b.id);
  }

  acceptTagChange(id: number): Promise<TagChange> {
    return this.agent.broker.acceptTagChange(id);
  }

  /** Resolve a role reference against the person's roles without asking the broker again. */
  async findRole(ref: string): Promise<Role | undefined> {
    return findRole(await this.agent.roles(), ref);
  }

  // ---- "Record" --------------------------------------------------------------------------------

  /** Proposes a command; the recorder asks the person (confirmRecording) and starts nothing without a yes. */
  recordStart(a: { role: string; command: string[]; cwd?: string; proxy?: boolean }): Promise<RecordState> {
    return this.recorder.start({
      role: a.role,
      command: a.command,
      cwd: a.cwd ?? this.env.HOME ?? homedir(),
      proxy: a.proxy ?? false,
    });
  }

  recordStatus(): RecordState {
    return this.recorder.status();
  }

  recordStop(): Promise<RecordState> {
    return this.recorder.stop();
  }

  /** "Request what was denied": every denied call's message drafted into one request, as "Paste an error" does. */
  async recordDraft(): Promise<ErrorDraft> {
    const text = deniedText(this.recorder.finished());
    if (text === "") throw new GatehouseError("NO_DENIAL", "nothing was denied in this recording");
    return this.draftFromError(text);
  }

  recordSavePolicy(): Promise<{ path: string | null }> {
    return this.recorder.savePolicy();
  }

  async stop(): Promise<void> {
    await this.recorder.dispose();
    return this.service.stop();
  }
}
