/**
 * A board's location as it may be shown: in messages, logs, `--json` output and the HTTP API.
 * A server URL loses its password; a file path is shown as it is. The location itself (with
 * the password) is for connecting only.
 */

/** shownLocation is `location` without a password, for anything a person or worker reads. */
export function shownLocation(location: string): string {
  if (!location.includes("://")) return location;
  try {
    const u = new URL(location);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return location.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
  }
}
