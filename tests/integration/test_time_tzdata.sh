#!/bin/bash
# test_time_tzdata.sh — cross-check alluse.time's America/New_York rule and calendar
# against the system's tzdata through GNU date and zdump (both from Debian's libc-bin
# and coreutils, tzdata from the tzdata package).  Nothing here is timed.
#
#   - every day of 1967..2037 at 05:59:59, 06:00, 06:59:59, 07:00 and 16:00 UTC (the
#     transitions happen at 06:00/07:00 UTC): our offset and New York ISO text equal
#     `TZ=America/New_York date +%z/%:z`, one TAP line per year;
#   - every DST start and end 1967..2100 equals zdump's transition list;
#   - New York wall times -> UTC equal date's reading of them; wall times we call
#     nonexistent are invalid for date too; the repeated 01:30 resolves to EDT/EST;
#   - UTC calendar and ISO text over our whole range (1684..2255) equal `date -u`,
#     and parse reads date's text back to the same instants.
# Before 1967 tzdata has New York's local DST and we deliberately do not (docs/time.md),
# so those years are not compared.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"

# check PASS(1 or empty) NAME [DIAG]: tap.sh's ok plus a diagnostic on failure.
check() {
  ok "$([ "${1:-0}" = 1 ] && echo 0 || echo 1)" "$2"
  [ "${1:-0}" = 1 ] || [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/#   /'
}

if ! command -v zdump >/dev/null || ! command -v date >/dev/null \
  || [ ! -e /usr/share/zoneinfo/America/New_York ] \
  || ! date -d @0 >/dev/null 2>&1; then
  echo "1..0 # SKIP needs GNU date, zdump and tzdata's America/New_York"
  exit 0
fi

case $ALLUSE in /*) ;; */*) ALLUSE=$PWD/$ALLUSE ;; esac # we cd away below
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1 # run away from the source tree: the embedded library is under test

# ---- our side, written as files line-aligned with what date will print ----
cat >"$tmp/gen.lua" <<'EOF'
local time = require("alluse.time")
local dir = arg[1]
local S = time.SECOND
local function open(name) return assert(io.open(dir .. "/" .. name, "w")) end

-- UTC instants around each day's possible transition times, and our answers.
local inst, years, ours = open("inst.txt"), open("years.txt"), open("ours.txt")
for day = time.from_utc(1967, 1, 1) / time.DAY, time.from_utc(2038, 1, 1) / time.DAY - 1 do
  local base = day * time.DAY
  local y = time.date_utc(base).year
  for _, sec in ipairs({ 21599, 21600, 25199, 25200, 57600 }) do
    local us = base + sec * S
    local off = time.ny_offset(us)
    local a = math.abs(off)
    inst:write("@", us / S, "\n")
    years:write(y, "\n")
    ours:write(string.format("%s%02d%02d ", off < 0 and "-" or "+", a / 60 - a / 60 % 1, a % 60),
      time.format(us, { tz = "America/New_York" }), "\n")
  end
end
inst:close() years:close() ours:close()

-- DST start and end instants, in zdump's "YYYY-MM-DD HH:MM:SS" UTC form.
local tr = open("ours_transitions.txt")
for y = 1967, 2100 do
  local s, e = time.ny_transitions(y)
  for _, us in ipairs({ s, e }) do
    local f = time.date_utc(us)
    tr:write(string.format("%04d-%02d-%02d %02d:%02d:%02d\n", f.year, f.month, f.day, f.hour, f.min, f.sec))
  end
end
tr:close()

-- New York wall times that exist once, and those in the spring gap.
local loc, loc_ours, gap = open("local.txt"), open("local_ours.txt"), open("gap.txt")
local function wall(y, m, d, h, mi, s)
  return string.format("%04d-%02d-%02d %02d:%02d:%02d", y, m, d, h, mi, s)
end
for y = 1967, 2037 do
  for m = 1, 12 do
    for d = 1, 28, 3 do
      for _, hms in ipairs({ { 0, 0, 0 }, { 9, 30, 0 }, { 16, 0, 0 }, { 23, 59, 59 } }) do
        local us = assert(time.from_ny(y, m, d, hms[1], hms[2], hms[3], { ambiguous = "error" }))
        loc:write(wall(y, m, d, hms[1], hms[2], hms[3]), "\n")
        loc_ours:write(us / S, "\n")
      end
    end
  end
  local s, e = time.ny_transitions(y)
  local sd, ed = time.date_utc(s), time.date_utc(e)
  for _, c in ipairs({ { sd, 1, 59, 59 }, { sd, 3, 0, 0 }, { ed, 0, 59, 59 }, { ed, 2, 0, 0 } }) do
    local f = c[1]
    local us = assert(time.from_ny(f.year, f.month, f.day, c[2], c[3], c[4], { ambiguous = "error" }))
    loc:write(wall(f.year, f.month, f.day, c[2], c[3], c[4]), "\n")
    loc_ours:write(us / S, "\n")
  end
  for _, hm in ipairs({ { 2, 0, 0 }, { 2, 30, 0 }, { 2, 59, 59 } }) do
    local us, _, code = time.from_ny(sd.year, sd.month, sd.day, hm[1], hm[2], hm[3])
    assert(us == nil and code == "ENONEXISTENT")
    gap:write(wall(sd.year, sd.month, sd.day, hm[1], hm[2], hm[3]), "\n")
  end
end
loc:close() loc_ours:close() gap:close()

-- The repeated 01:30 of each fall-back: earlier and later readings.
local amb = open("ambig.txt")
for y = 1967, 2037 do
  local _, e = time.ny_transitions(y)
  local f = time.date_utc(e)
  amb:write("@", time.from_ny(f.year, f.month, f.day, 1, 30, 0, { ambiguous = "earlier" }) / S, "\n")
  amb:write("@", time.from_ny(f.year, f.month, f.day, 1, 30, 0, { ambiguous = "later" }) / S, "\n")
end
amb:close()

-- The UTC calendar over the whole supported range, in whole seconds.
local cal, cal_ours = open("cal.txt"), open("cal_ours.txt")
local lo, hi = math.ceil(time.MIN / S), math.floor(time.MAX / S)
local step = math.floor((hi - lo) / 20000)
for sec = lo, hi, step do
  cal:write("@", sec, "\n")
  cal_ours:write(time.format(sec * S), "\n")
end
cal:close() cal_ours:close()
EOF

cat >"$tmp/parse.lua" <<'EOF'
-- Parse each line of arg[1] and compare with the "@SECONDS" line of arg[2].
local time = require("alluse.time")
local texts, want = assert(io.open(arg[1])), assert(io.open(arg[2]))
local n, bad, first = 0, 0, nil
for s in texts:lines() do
  local w = tonumber(want:read("*l"):sub(2)) * time.SECOND
  local got, err = time.parse(s)
  n = n + 1
  if got ~= w then
    bad = bad + 1
    first = first or (s .. " -> " .. tostring(got or err) .. ", expected " .. w)
  end
end
print(n, bad, first or "")
EOF

if ! out=$("$ALLUSE" exec "$tmp/gen.lua" "$tmp" 2>&1); then
  check 0 "alluse generates the samples" "$out"
  done_testing
fi
check 1 "alluse generates $(wc -l <"$tmp/inst.txt") UTC samples and $(wc -l <"$tmp/local.txt") New York wall times"

# ---- UTC -> New York offsets and text, per year ----
TZ=America/New_York date -f "$tmp/inst.txt" '+%z %Y-%m-%dT%H:%M:%S%:z' >"$tmp/theirs.txt"
paste -d'|' "$tmp/years.txt" "$tmp/ours.txt" "$tmp/theirs.txt" | awk -F'|' '
  { n[$1]++; if ($2 != $3) { bad[$1]++; if (!($1 in first)) first[$1] = "ours " $2 " tzdata " $3 } }
  END { for (y in n) print y, n[y], bad[y] + 0, first[y] }' | sort -n >"$tmp/per_year.txt"
while read -r y count bad first; do
  check "$([ "$bad" = 0 ] && echo 1)" "$y: offset and New York time of $count instants agree with tzdata" \
    "$bad disagree, first: $first"
done <"$tmp/per_year.txt"
years=$(wc -l <"$tmp/per_year.txt")
check "$([ "$years" = 71 ] && echo 1)" "all 71 years 1967..2037 were compared" "got $years"

# ---- transitions against zdump ----
# zdump -v prints each transition as two lines; the second one is the new offset's first second.
zdump -v -c 1967,2101 America/New_York | awk '
  $2 ~ /^-?[0-9]+$/ { next }  # the NULL lines at the int64 limits
  { line[NR] = $0; m[NR] = $3; d[NR] = $4; t[NR] = $5; y[NR] = $6 }
  END {
    split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
    for (i = 1; i <= 12; i++) num[mon[i]] = i
    for (i = 2; i <= NR; i += 2) if (i in m) printf "%04d-%02d-%02d %s\n", y[i], num[m[i]], d[i], t[i]
  }' >"$tmp/zdump.txt"
if diff "$tmp/ours_transitions.txt" "$tmp/zdump.txt" >"$tmp/diff.txt"; then
  check 1 "all $(wc -l <"$tmp/zdump.txt") DST transitions 1967..2100 equal zdump's"
else
  check 0 "DST transitions 1967..2100 equal zdump's" "$(head -20 "$tmp/diff.txt")"
fi

# ---- New York wall time -> UTC ----
TZ=America/New_York date -f "$tmp/local.txt" +%s >"$tmp/local_theirs.txt" 2>"$tmp/local_err.txt"
if cmp -s "$tmp/local_ours.txt" "$tmp/local_theirs.txt"; then
  check 1 "$(wc -l <"$tmp/local.txt") New York wall times convert to the same UTC as date's"
else
  check 0 "New York wall times convert to the same UTC as date's" \
    "$(paste "$tmp/local.txt" "$tmp/local_ours.txt" "$tmp/local_theirs.txt" | awk -F'\t' '$2 != $3' | head -5; head -3 "$tmp/local_err.txt")"
fi

gaps=$(wc -l <"$tmp/gap.txt")
valid=$(TZ=America/New_York date -f "$tmp/gap.txt" +%s 2>/dev/null | wc -l)
check "$([ "$valid" = 0 ] && echo 1)" "$gaps spring-forward wall times we call nonexistent are invalid for date too" \
  "date accepted $valid of them"

TZ=America/New_York date -f "$tmp/ambig.txt" +%H:%M%Z | paste -d' ' - - | sort | uniq -c >"$tmp/ambig_out.txt"
check "$(grep -q '^ *71 01:30EDT 01:30EST$' "$tmp/ambig_out.txt" && [ "$(wc -l <"$tmp/ambig_out.txt")" = 1 ] && echo 1)" \
  "the repeated 01:30 of every fall-back: earlier is 01:30 EDT, later is 01:30 EST" "$(cat "$tmp/ambig_out.txt")"

# ---- UTC calendar and parse ----
date -u -f "$tmp/cal.txt" +%Y-%m-%dT%H:%M:%SZ >"$tmp/cal_theirs.txt"
if cmp -s "$tmp/cal_ours.txt" "$tmp/cal_theirs.txt"; then
  check 1 "$(wc -l <"$tmp/cal.txt") instants 1684..2255 format like date -u"
else
  check 0 "instants 1684..2255 format like date -u" \
    "$(paste "$tmp/cal.txt" "$tmp/cal_ours.txt" "$tmp/cal_theirs.txt" | awk -F'\t' '$2 != $3' | head -5)"
fi

cut -d' ' -f2 "$tmp/theirs.txt" >"$tmp/theirs_iso.txt"
for pair in "cal_theirs.txt cal.txt" "theirs_iso.txt inst.txt"; do
  set -- $pair
  read -r count bad first < <("$ALLUSE" exec "$tmp/parse.lua" "$tmp/$1" "$tmp/$2" 2>&1)
  check "$([ "${bad:-x}" = 0 ] && echo 1)" "parse reads date's ${count:-?} ISO texts ($1) back to the same instants" \
    "${bad:-?} differ, first: ${first:-}"
done

done_testing
