/** How the CLI's reports list request_ids: cut at a few unless --full. */

/** "a, b, c ... and 7 more (--full to show all)" */
export function formatIdList(ids: readonly string[], full: boolean, limit = 10): string {
  if (full || ids.length <= limit) return ids.join(', ');
  return `${ids.slice(0, limit).join(', ')} ... and ${ids.length - limit} more (--full to show all)`;
}
