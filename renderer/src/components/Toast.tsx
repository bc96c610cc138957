// Short confirmations ("Copied") and failures, announced politely to screen readers and gone after a moment.

export interface ToastMessage {
  id: number;
  kind: "ok" | "error";
  title: string;
  detail?: string;
}

export function Toast({ toast, onDismiss }: { toast: ToastMessage | null; onDismiss(): void }) {
  return (
    <div className="toast-region" role="status" aria-live="polite">
      {toast ? (
        <div key={toast.id} className={`toast ${toast.kind}`} data-testid="toast">
          <div className="toast-text">
            <strong>{toast.title}</strong>
            {toast.detail ? <span>{toast.detail}</span> : null}
          </div>
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={onDismiss}>
            ×
          </button>
        </div>
      ) : null}
    </div>
  );
}
