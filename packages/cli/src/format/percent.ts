/**
 * A summary's percent as every view prints it: one decimal, as core rounds it (`86.7%` for 26 of
 * 30), so the bar, the line, `show` and `ls` agree.
 */
export function percentText(percent: number): string {
  return `${percent.toFixed(1)}%`;
}
