// The few icons the app draws, as inline SVG (no image files, nothing fetched); decorative unless labelled.

const PATHS = {
  star: "M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z",
  search:
    "M10.5 4a6.5 6.5 0 1 0 4.03 11.6l4.43 4.43 1.06-1.06-4.43-4.43A6.5 6.5 0 0 0 10.5 4zm0 1.5a5 5 0 1 1 0 10 5 5 0 0 1 0-10z",
  settings:
    "M12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7zm0 1.5a2 2 0 1 1 0 4 2 2 0 0 1 0-4zM10.6 2.5l-.5 2.3a7.6 7.6 0 0 0-1.9 1.1L6 5.2 4.6 7.6l1.7 1.6a7.7 7.7 0 0 0 0 2.2l-1.7 1.6L6 15.4l2.2-.7c.6.5 1.2.8 1.9 1.1l.5 2.3h2.8l.5-2.3c.7-.3 1.3-.6 1.9-1.1l2.2.7 1.4-2.4-1.7-1.6a7.7 7.7 0 0 0 0-2.2l1.7-1.6L18 5.2l-2.2.7a7.6 7.6 0 0 0-1.9-1.1l-.5-2.3z",
  refresh:
    "M12 5a7 7 0 0 1 6.3 4H15v1.5h5.5V5H19v2.6A8.5 8.5 0 0 0 3.5 12H5a7 7 0 0 1 7-7zm7 7a7 7 0 0 1-13.3 3H9v-1.5H3.5V19H5v-2.6A8.5 8.5 0 0 0 20.5 12z",
  external: "M14 4h6v6h-1.5V6.6l-7.2 7.2-1.1-1.1 7.2-7.2H14zM5 6h6v1.5H6.5v10h10V13H18v6H5z",
  copy: "M8 3h10a2 2 0 0 1 2 2v11h-1.5V5a.5.5 0 0 0-.5-.5H8zM5 7h9a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2zm0 1.5a.5.5 0 0 0-.5.5v10c0 .28.22.5.5.5h9a.5.5 0 0 0 .5-.5V9a.5.5 0 0 0-.5-.5z",
  terminal:
    "M4 5h16a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm.5 1.5v11h15v-11zm2.2 2.3L10 12l-3.3 3.2-1-1L7.9 12 5.7 9.8zM11 14.5h6V16h-6z",
  signOut: "M5 4h8v1.5H6.5v13H13V20H5zm10.3 4.2L19.1 12l-3.8 3.8-1.1-1.1 1.9-1.9H9v-1.5h7.1l-1.9-1.9z",
  key: "M14.5 3a6.5 6.5 0 0 0-6.2 8.5L3 16.8V21h4.2v-2h2v-2h2l1.3-1.3A6.5 6.5 0 1 0 14.5 3zm0 1.5a5 5 0 1 1-1.7 9.7l-.4-.2-1.8 1.5H8.7v2h-2v2H4.5v-2.1l5.4-5.4-.2-.5a5 5 0 0 1 4.8-7zM16 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z",
  lock: "M12 2.5A4.5 4.5 0 0 0 7.5 7v3H6a1 1 0 0 0-1 1v9a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-9a1 1 0 0 0-1-1h-1.5V7A4.5 4.5 0 0 0 12 2.5zM9 7a3 3 0 0 1 6 0v3H9zm-2.5 4.5h11v8h-11z",
  close: "M6.1 5l5.9 5.9L17.9 5 19 6.1 13.1 12l5.9 5.9-1.1 1.1-5.9-5.9L6.1 19 5 17.9l5.9-5.9L5 6.1z",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, className }: { name: IconName; className?: string }) {
  return (
    <svg
      className={className ? `icon ${className}` : "icon"}
      viewBox="0 0 24 24"
      width="16"
      height="16"
      aria-hidden="true"
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
