// A heading row of the roles list: a section (Favourites, Recent, All roles) or an account (name and id).

import type { Row } from "../roles/search.ts";

type HeaderRow = Exclude<Row, { kind: "role" }>;

export function GroupHeader({ row, index, start }: { row: HeaderRow; index: number; start: number }) {
  const roles = `${row.count} ${row.count === 1 ? "role" : "roles"}`;
  return (
    <li
      className={`row ${row.kind === "section" ? "section-row" : "account-row"}`}
      data-index={index}
      data-key={row.key}
      style={{ transform: `translateY(${start}px)` }}
    >
      {row.kind === "section" ? (
        <h2 className="section-title">
          {row.title}
          <span className="count">{roles}</span>
        </h2>
      ) : (
        <h3 className="account-title">
          <span className="account-name">{row.accountName}</span>
          <span className="account-id mono">{row.accountId}</span>
          <span className="count">{roles}</span>
        </h3>
      )}
    </li>
  );
}
