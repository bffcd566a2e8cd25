#!/usr/bin/env bash
# Runs a job list (experiments/*.jobs) on this machine, then merges the results into a report.
#   scripts/run_jobs.sh [-j N] [--trk PATH] JOBFILE OUT
# At most N jobs at a time (default: the number of cores), each with OMP_NUM_THREADS = cores / N (at least 1), or
# JOB_THREADS when set (a machine shared with other work: JOB_THREADS=1 -j 1 runs one single-threaded job at a time).
# Each job's own progress goes to OUT/logs/job<k>.log. While they run: on a terminal, a status block redrawn every
# 2 s (each running job, its time and the last line of its log, then done/running/queued and an overall ETA);
# otherwise (CI logs) the same block every 60 s (STATUS_EVERY=seconds to change). A line per finished job.
# The ETA uses each job's time from an earlier run (OUT/logs/durations.tsv, else JOBFILE with .durations for
# .jobs), else the mean time of the jobs finished so far. Then trk report --results OUT --out OUT/report.
# Exits 1 if a job failed (the others still run; the report is not made), 2 on bad usage.
set -uo pipefail
cores=$(nproc)
jobs=$cores
trk=build/trk
while [[ $# -gt 0 ]]; do
  case $1 in
    -j) jobs=${2:?-j needs N}; shift 2 ;;
    --trk) trk=${2:?--trk needs a path}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_jobs.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || { echo "usage: scripts/run_jobs.sh [-j N] [--trk PATH] JOBFILE OUT" >&2; exit 2; }
jobfile=$1 out=$2
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run_jobs.sh: -j $jobs: expected a positive integer" >&2; exit 2; }
[[ -x $trk ]] || { echo "run_jobs.sh: $trk: not an executable (build first: make build)" >&2; exit 2; }
here=$(dirname "$0")
mapfile -t cmds < <("$here/jobs.sh" "$jobfile" "$out" "$trk") || exit 2
total=${#cmds[@]}
[[ $total -gt 0 ]] || { echo "run_jobs.sh: $jobfile: no jobs" >&2; exit 2; }
threads=${JOB_THREADS:-$(( cores / jobs ))}; (( threads < 1 )) && threads=1
mkdir -p "$out/logs" || exit 2
echo "run_jobs: $total jobs from $jobfile, $jobs at a time, $threads thread(s) each -> $out (logs in $out/logs)"

# A job's key in the durations files: its command with the output folder and the program put back as {out}, {trk}.
key() { local c=${1//"$out"/\{out\}}; echo "${c//"$trk"/\{trk\}}"; }
# A short name: "identify h=0.2 trk10", "fit fit_l63_trk4".
short() {
  local w=($1) sub=${w[1]:-job} h="" s="" o="" i
  for ((i = 2; i < ${#w[@]}; ++i)); do
    case ${w[i]} in --h) h=${w[i+1]:-} ;; --solver) s=${w[i+1]:-} ;; --out) o=${w[i+1]:-} ;; esac
  done
  if [[ -n $h$s ]]; then echo "$sub${h:+ h=$h}${s:+ $s}"; else echo "$sub ${o##*/}"; fi
}
declare -A estimate=()
prior=$out/logs/durations.tsv
[[ -f $prior ]] || prior=${jobfile%.jobs}.durations
if [[ -f $prior ]]; then
  while IFS=$'\t' read -r secs cmd; do
    [[ $secs =~ ^[0-9]+$ ]] && estimate[$cmd]=$secs
  done < <(grep -v '^#' "$prior")
fi
hms() { local s=$1; if ((s >= 3600)); then printf '%dh%02dm' $((s / 3600)) $((s % 3600 / 60));
        elif ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }

tty=0; [[ -t 1 ]] && tty=1
status_every=${STATUS_EVERY:-60}
cols=$( ((tty)) && tput cols 2>/dev/null || echo 120)
start=$SECONDS
declare -A started=() which=()
failed=() done=0 next=0 done_secs=0 drawn=0 last_status=$SECONDS
declare -a took=()

eta() {  # prints the estimated seconds left, or nothing when nothing is known yet
  local mean=0 left=0 longest=0 k e r pid known=0
  ((done > 0)) && mean=$((done_secs / done))
  for ((k = next; k < total; ++k)); do
    e=${estimate[$(key "${cmds[$k]}")]:-$mean}
    ((e > 0)) && known=1
    left=$((left + e))
  done
  for pid in "${!started[@]}"; do
    k=${which[$pid]}
    e=${estimate[$(key "${cmds[$k]}")]:-$mean}
    ((e > 0)) && known=1
    r=$((e - (SECONDS - started[$pid]))); ((r < 1)) && r=1
    left=$((left + r)); ((r > longest)) && longest=$r
  done
  ((known)) || return 0
  left=$(( (left + jobs - 1) / jobs )); ((longest > left)) && left=$longest
  echo "$left"
}
status_lines() {
  local pid k last e
  for pid in "${!started[@]}"; do
    k=${which[$pid]}
    last=$(tail -c 4096 "$out/logs/job$((k + 1)).log" 2>/dev/null | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1)
    printf '  job%-3d %-24s %7s  %s\n' $((k + 1)) "$(short "${cmds[$k]}")" "$(hms $((SECONDS - started[$pid])))" "${last:-(no output yet)}" |
      cut -c1-"$cols"
  done
  local left; left=$(eta)
  if [[ -n $left ]]; then e="~$(hms "$left")"; else e="after the first job ends"; fi
  printf '  %d/%d done, %d running, %d queued; elapsed %s, ETA %s\n' "$done" "$total" "${#started[@]}" $((total - next)) \
    "$(hms $((SECONDS - start)))" "$e"
}
clear_status() { ((tty && drawn > 0)) && printf '\033[%dA\033[J' "$drawn"; drawn=0; }
draw_status() {
  if ((tty)); then
    local text; text=$(status_lines)
    clear_status
    printf '%s\n' "$text"
    drawn=$(printf '%s\n' "$text" | wc -l)
  elif ((SECONDS - last_status >= status_every)); then
    echo "run_jobs: status"; status_lines
    last_status=$SECONDS
  fi
}
finish() {  # reaps one finished job
  local pid=$1 rc=$2 k=${which[$1]}
  done=$((done + 1))
  local secs=$((SECONDS - started[$1]))
  done_secs=$((done_secs + secs)); took[$k]=$secs
  clear_status
  if [[ $rc -eq 0 ]]; then
    printf '[%d/%d] ok     %4ds  %s\n' "$done" "$total" "$secs" "${cmds[$k]}"
  else
    printf '[%d/%d] FAILED %4ds  %s (exit %d, log %s)\n' "$done" "$total" "$secs" "${cmds[$k]}" "$rc" "$out/logs/job$((k + 1)).log"
    failed+=("$((k + 1))")
  fi
  unset "started[$1]" "which[$1]"
}
trap 'clear_status; kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
tick=0
while [[ $next -lt $total || ${#started[@]} -gt 0 ]]; do
  while [[ $next -lt $total && ${#started[@]} -lt $jobs ]]; do
    OMP_NUM_THREADS=$threads bash -c "${cmds[$next]}" >"$out/logs/job$((next + 1)).log" 2>&1 &
    started[$!]=$SECONDS
    which[$!]=$next
    next=$((next + 1))
  done
  for pid in "${!started[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; finish "$pid" $?; fi
  done
  [[ $next -lt $total || ${#started[@]} -gt 0 ]] || break
  ((tick % 4 == 0)) && draw_status
  tick=$((tick + 1))
  sleep 0.5
done
clear_status
echo "run_jobs: $total jobs in $((SECONDS - start)) s"
{
  echo "# seconds per job of $jobfile ($(date -u +%Y-%m-%dT%H:%MZ), $jobs at a time on $cores cores): run_jobs.sh's ETA"
  for ((k = 0; k < total; ++k)); do [[ -n ${took[$k]:-} ]] && printf '%s\t%s\n' "${took[$k]}" "$(key "${cmds[$k]}")"; done
} >"$out/logs/durations.tsv"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run_jobs: ${#failed[@]} job(s) failed: ${failed[*]} (logs in $out/logs); no report made" >&2
  exit 1
fi
"$trk" report --results "$out" --out "$out/report" --quiet || exit 1
