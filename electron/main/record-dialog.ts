// The native confirmation of a command the window proposed to record, built here without Electron so that
// what the person is shown is tested: the exact argv (each argument as a JSON string, so spaces, quotes and
// control characters cannot hide anything), the role and the folder. Cancel is the default and the escape.

import type { RecordProposal } from "../agent/record/record-service.ts";

export const RUN_BUTTON = 1;

export interface RecordDialog {
  type: "warning";
  title: string;
  message: string;
  detail: string;
  buttons: string[];
  defaultId: number;
  cancelId: number;
  noLink: true;
}

export function recordDialog(p: RecordProposal): RecordDialog {
  return {
    type: "warning",
    title: "Gatehouse: run and record a command?",
    message: `Run this command with the credentials of ${JSON.stringify(p.role)} and record its AWS calls?`,
    detail: [
      "Command (each argument exactly as it will be passed, no shell):",
      ...p.command.map((a, i) => `  ${i === 0 ? "program" : `arg ${i}`}: ${JSON.stringify(a)}`),
      "",
      `Role: ${JSON.stringify(p.role)}`,
      `Working folder: ${JSON.stringify(p.cwd)}`,
      `HTTPS proxy recording: ${p.proxy ? "on" : "off"}`,
      "",
      "Only run commands you typed yourself.",
    ].join("\n"),
    buttons: ["Cancel", "Run and record"],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  };
}

/** Yes only for the run button: closing, escape and anything unexpected are no. */
export function confirmed(response: { response: number }): boolean {
  return response.response === RUN_BUTTON;
}
