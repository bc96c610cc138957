// The search box over the roles: instant, labelled "Search roles", reached with "/" or Ctrl/Cmd+K.

import type { KeyboardEvent, Ref } from "react";
import { Icon } from "./Icon.tsx";

interface Props {
  value: string;
  onChange(value: string): void;
  /** ArrowDown or Enter: go to the first result. */
  onEnterResults(): void;
  inputRef: Ref<HTMLInputElement>;
}

export function SearchBox({ value, onChange, onEnterResults, inputRef }: Props) {
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown" || (e.key === "Enter" && !e.nativeEvent.isComposing)) {
      e.preventDefault();
      onEnterResults();
    } else if (e.key === "Escape" && value !== "") {
      e.preventDefault();
      onChange("");
    }
  };
  return (
    <search className="search">
      <Icon name="search" className="search-icon" />
      <input
        ref={inputRef}
        id="role-search"
        type="search"
        aria-label="Search roles"
        aria-describedby="search-hint"
        placeholder="Search roles, accounts, tags…"
        autoComplete="off"
        spellCheck={false}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <span className="search-kbd" aria-hidden="true">
        /
      </span>
      <span id="search-hint" className="sr-only">
        Matches account name or id, role name, description and tags. Press Down to go to the results.
      </span>
    </search>
  );
}
