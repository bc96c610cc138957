// Every IPC call from the renderer, checked before it reaches the agent: the sender's origin must be the
// app's own, the channel must be in the contract, and the argument must parse with its schema.

import { GatehouseError } from "../../shared/errors.ts";
import type { GrantExportFormat } from "../../shared/grants-export.ts";
import { CHANNELS, type Channel, IPC } from "../../shared/ipc.ts";
import type { ApproveRequest, CreateRequest, ResolveTarget } from "../../shared/requests.ts";
import type { DesktopCore } from "./desktop-core.ts";

export interface Sender {
  /** URL of the frame that sent the call. */
  url: string;
  /** Whether the sender is the window's top frame (sub-frames never talk to main). */
  topFrame: boolean;
}

export type IpcResult =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string } };

type Impl = { [C in Channel]: (core: DesktopCore, args: never) => unknown };

const IMPL: Impl = {
  status: (core) => core.status(),
  signIn: (core) => core.signIn(),
  setBroker: (core, args: { brokerUrl: string }) => core.setBroker(args.brokerUrl),
  signOut: (core) => core.signOut(),
  roles: (core, a: { refresh?: boolean } | undefined) => core.roles(a?.refresh),
  openConsole: (core, a: { role: string; region?: string }) => core.openConsole(a.role, a.region),
  copyText: (core, a: { role: string; kind: "profile" | "credentialProcess" | "envExport" }) =>
    core.copyText(a.role, a.kind),
  favourites: (core) => core.favourites(),
  setFavourite: (core, a: { role: string; favourite: boolean }) => core.setFavourite(a.role, a.favourite),
  recent: (core) => core.recent(),
  getSettings: (core) => core.getSettings(),
  updateSettings: (core, a: Parameters<DesktopCore["updateSettings"]>[0]) => core.updateSettings(a),
  consoleWindows: (core) => core.consoleWindows(),
  requestContext: (core) => core.requestContext(),
  requestTargets: (core, a: { query?: string; limit?: number }) => core.requestTargets(a.query, a.limit),
  catalogueServices: (core, a: { query?: string; limit?: number }) =>
    core.catalogueServices(a.query, a.limit),
  cataloguePolicies: (core, a: { query?: string; service?: string; account?: string; limit?: number }) =>
    core.cataloguePolicies(a),
  cataloguePolicy: (core, a: { arn: string; account?: string }) => core.cataloguePolicy(a.arn, a.account),
  catalogueGroups: (core, a: { account: string; query?: string }) => core.catalogueGroups(a.account, a.query),
  lintPolicy: (core, a: { policy: string }) => core.lintPolicy(a.policy),
  completeActions: (core, a: { prefix: string; limit?: number }) => core.completeActions(a.prefix, a.limit),
  draftFromError: (core, a: { text: string }) => core.draftFromError(a.text),
  createRequest: (core, a: CreateRequest) => core.createRequest(a),
  myRequests: (core) => core.myRequests(),
  approvals: (core) => core.approvals(),
  getRequest: (core, a: { id: string }) => core.getRequest(a.id),
  approveRequest: (core, a: ApproveRequest & { id: string }) => {
    const { id, ...body } = a;
    return core.approveRequest(id, body);
  },
  rejectRequest: (core, a: { id: string; reason: string }) => core.rejectRequest(a.id, a.reason),
  cancelRequest: (core, a: { id: string }) => core.cancelRequest(a.id),
  retryRequest: (core, a: { id: string }) => core.retryRequest(a.id),
  resolveTarget: (core, a: ResolveTarget & { id: string; target: number }) => {
    const { id, target, ...body } = a;
    return core.resolveTarget(id, target, body);
  },
  recordStart: (core, a: { role: string; command: string[]; cwd?: string; proxy?: boolean }) =>
    core.recordStart(a),
  recordStatus: (core) => core.recordStatus(),
  recordStop: (core) => core.recordStop(),
  recordDraft: (core) => core.recordDraft(),
  recordSavePolicy: (core) => core.recordSavePolicy(),
  heldTagChanges: (core) => core.heldTagChanges(),
  acceptTagChange: (core, a: { id: number }) => core.acceptTagChange(a.id),
  organisation: (core) => core.organisation(),
  accessReport: (core, a: { unusedDays?: number }) => core.accessReport(a.unusedDays),
  grantsExport: (core, a: { format: GrantExportFormat; active?: boolean; account?: string }) =>
    core.grantsExport(a),
  runDoctor: (core) => core.runDoctor(),
  syncAccount: (core, a: { accountId: string }) => core.syncAccount(a.accountId),
};

export interface IpcHandlers {
  invoke(channel: string, args: unknown, sender: Sender): Promise<IpcResult>;
}

/**
 * `isAppOrigin` decides which sender URLs are the app (file:// or app:// in Electron, the test server's
 * origin in browser tests). Results are plain data: errors travel as {code, message}, never as stacks.
 */
export function createIpcHandlers(core: DesktopCore, isAppOrigin: (url: string) => boolean): IpcHandlers {
  return {
    async invoke(channel, args, sender) {
      try {
        if (!sender.topFrame || !isAppOrigin(sender.url)) {
          throw new GatehouseError("FORBIDDEN_ORIGIN", "IPC is accepted only from the app's own window");
        }
        if (!(CHANNELS as string[]).includes(channel))
          throw new GatehouseError("BAD_REQUEST", `no IPC channel "${channel}"`);
        const c = channel as Channel;
        const parsed = IPC[c].args.safeParse(args);
        if (!parsed.success) {
          const i = parsed.error.issues[0]!;
          throw new GatehouseError(
            "BAD_REQUEST",
            `${channel}: ${i.path.join(".") || "argument"}: ${i.message}`,
          );
        }
        const value = await (IMPL[c] as (core: DesktopCore, a: unknown) => unknown)(core, parsed.data);
        return { ok: true, value };
      } catch (e) {
        const err =
          e instanceof GatehouseError
            ? e
            : new GatehouseError("INTERNAL", "the app failed; see the agent log");
        return { ok: false, error: { code: err.code, message: err.message } };
      }
    },
  };
}
