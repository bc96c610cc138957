// The keyboard shortcuts, always in view under the list.

const SHORTCUTS: [keys: string[], what: string][] = [
  [["/", "Ctrl K"], "search"],
  [["↑", "↓"], "move"],
  [["Enter"], "open console"],
  [["F"], "favourite"],
  [["P", "C", "E"], "copy profile / process / env"],
  [["Esc"], "back to search"],
  [["Ctrl ,"], "settings"],
];

export function HelpLine() {
  return (
    <p className="help-line">
      <span className="sr-only">Keyboard shortcuts: </span>
      {SHORTCUTS.map(([keys, what]) => (
        <span key={what} className="shortcut">
          {keys.map((k) => (
            <kbd key={k}>{k}</kbd>
          ))}
          <span>{what}</span>
        </span>
      ))}
    </p>
  );
}
