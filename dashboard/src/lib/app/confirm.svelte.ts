/**
 * Confirmation before an irreversible step (结论, 办结, 撤回草稿, 吊销…): `await confirmStep(…)`
 * resolves true only when the user presses the confirm button of the dialog rendered once by
 * ConfirmHost.svelte in the office layout.
 */
import { L } from './lang';

export interface ConfirmRequest {
  title: string;
  body: string;
  confirmText: string;
  danger: boolean;
  resolve(ok: boolean): void;
}

class ConfirmState {
  current = $state<ConfirmRequest | null>(null);
}

export const confirmState = new ConfirmState();

export function confirmStep(title: string, body: string, opts: { confirmText?: string; danger?: boolean } = {}): Promise<boolean> {
  // A second request replaces a forgotten first one (answered "no").
  confirmState.current?.resolve(false);
  return new Promise((resolve) => {
    confirmState.current = {
      title,
      body,
      confirmText: opts.confirmText ?? L('确认', 'Confirm'),
      danger: opts.danger ?? false,
      resolve: (ok) => {
        confirmState.current = null;
        resolve(ok);
      },
    };
  });
}
