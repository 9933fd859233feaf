/**
 * MmError: the one error type mmlab throws at its users.
 *
 * `code` follows the errno a Linux caller would see (EINVAL, ENOMEM, EFAULT, ESRCH, EPERM), or the
 * signal a process would get (SIGSEGV), or EBUG for what the kernel reports as a bug
 * ("BUG: Bad page state", a failed invariant). The message names the argument and the accepted range
 * where the cause is bad input. A call that throws leaves the machine exactly as it was.
 */
export type MmErrorCode =
  | "EINVAL"
  | "ENOMEM"
  | "EFAULT"
  | "ESRCH"
  | "EPERM"
  | "EAGAIN"
  | "EBUSY"
  | "ENOENT"
  | "SIGSEGV"
  | "SIGBUS"
  | "SIGABRT"
  | "SIGKILL"
  | "EBUG";

export class MmError extends Error {
  override readonly name = "MmError";
  constructor(
    readonly code: MmErrorCode,
    message: string,
    /** Extra machine-readable detail (the argument, the range, the zones tried…). */
    readonly detail: Record<string, unknown> = {},
  ) {
    super(`${code}: ${message}`);
  }
}

export function einval(arg: string, message: string, detail: Record<string, unknown> = {}): MmError {
  return new MmError("EINVAL", `${arg}: ${message}`, { arg, ...detail });
}
