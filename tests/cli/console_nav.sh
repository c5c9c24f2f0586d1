# Moving around the console: j/k/g/G/PgDn/PgUp over a DLQ larger than one
# page (the page indicator follows the store's keyset pages), the selection
# kept on its item when newer rows arrive above it (DLQ and sagas), the
# filter line (a bad filter is refused on one line and changes nothing; Esc
# clears), the command line (completion, :theme), help, and :q leaving the
# terminal as it found it.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
now=$(date +%s)
# 120 events nav-001 (oldest) .. nav-120 (newest); the ten newest come from
# fresh-svc, every third is a processing timeout.
i=1
while [ "$i" -le 120 ]; do
    id=$(printf 'nav-%03d' "$i")
    src=billing-svc reason=validation_failed
    [ "$i" -gt 110 ] && src=fresh-svc
    [ $((i % 3)) -eq 0 ] && reason=processing_timeout
    printf "HSET dlq:%s data '{\"event_id\": \"%s\", \"original_event\": {\"n\": %d}, \"failure_reason\": \"%s\", \"error_message\": \"e%d\", \"retry_count\": 1, \"first_failure_time\": \"2026-11-23 17:52:16\", \"last_failure_time\": \"2026-11-23 17:52:16\", \"source_service\": \"%s\", \"target_service\": \"ledger\", \"original_queue\": \"q\", \"stack_trace\": null, \"context\": {}}' created_at 2026-11-23T17:52:16 status pending_review\n" \
        "$id" "$id" "$i" "$reason" "$i" "$src"
    printf 'ZADD dlq:index %d %s\n' $((now - 7200 + i * 10)) "$id"
    i=$((i + 1))
done | redis_q >/dev/null
assert_eq 120 "$(redis_q ZCARD dlq:index)" "120 events pinned"
psql_q "
SELECT wf.save_saga(jsonb_build_object('execution_id', 'nav-saga-' || i, 'saga_id', 'nav',
    'status', 'running', 'context', '{}'::jsonb, 'started_at', now(), 'completed_at', NULL,
    'error', NULL, 'steps', '[]'::jsonb))
FROM generate_series(1, 5) i;" >/dev/null

console_start 80x24
keys 4
wait_screen '^50 rows +page 1 ›' 10 "the DLQ's first page of 50, more after it"
assert_match 'nav-120' "$(selected)" "the newest event is selected"
assert_eq 1 "$(selected | wc -l | tr -d ' ')" "one row is selected"
keys j
wait_until 2 "j selects the next row" "selected | grep -q nav-119"
keys k
wait_until 2 "k selects the row before" "selected | grep -q nav-120"
keys Down Down Up
wait_until 2 "and so do the arrows" "selected | grep -q nav-119"
keys g NPage
wait_until 2 "PgDn moves a screen down (18 rows)" "selected | grep -q nav-102"
keys NPage
wait_until 2 "PgDn again" "selected | grep -q nav-084"
assert_match 'nav-084' "$(screen_line 21)" "the selected row is on the last list line"
keys PPage
wait_until 2 "PgUp a screen back" "selected | grep -q nav-102"
keys G
wait_screen 'last row of this page; PgDn or j reads the next page' 2 "G says it stopped at the page's end"
wait_until 2 "G selects the page's last row" "selected | grep -q nav-071"
keys j
wait_screen '^50 rows +page 2 ›' 5 "j past the last row reads page 2"
wait_until 2 "its first row selected" "selected | grep -q nav-070"
assert_no_match 'nav-07[1-9]|nav-1' "$(screen)" "page 1's rows are gone"
keys NPage NPage NPage
wait_until 2 "PgDn to page 2's last row" "selected | grep -q nav-021"
keys NPage
wait_screen '^20 rows +page 3 *$' 5 "PgDn past it reads page 3, the last (no ›)"
wait_until 2 "page 3 starts where page 2 ended" "selected | grep -q nav-020"
keys G
wait_until 2 "the oldest event is the last row" "selected | grep -q nav-001"
keys g
wait_screen '^50 rows +page 1 ›' 5 "g goes back to the first page"
wait_until 2 "and its first row" "selected | grep -q nav-120"
keys G j
wait_screen '^50 rows +page 2 ›' 5 "page 2 once more"
keys k
wait_screen '^50 rows +page 1 ›' 5 "k before page 2's first row reads page 1 again"
wait_until 2 "landing on its last row, the same rows as before" "selected | grep -q nav-071"
keys g

# The filter line: flag syntax; a bad filter is refused and changes nothing.
keys /
wait_screen '^/' 2 "/ opens the filter line"
keys -l 'reason=processing_timeout'
keys Enter
wait_screen '^40 rows · filter: reason=processing_timeout *$' 5 "the filter applies"
assert_eq "" "$(screen | sed -n '5,22p' | grep -E 'nav-' | grep -v processing_ti || true)" "only timeouts listed"
before=$(screen | sed -n '3,22p')
keys /
wait_screen '^/reason=processing_timeout' 2 "the filter line starts from the current filter"
keys C-u
keys -l 'colour=red'
keys Enter
wait_screen 'colour' 2 "a bad filter is refused"
msg=$(screen_line 23)
one_line "$msg" "the refusal"
assert_match "unknown key 'colour'" "$msg" "it names the word"
assert_eq "$before" "$(screen | sed -n '3,22p')" "the view and its filter are unchanged"
keys Escape
wait_screen '^50 rows +page 1 ›' 5 "Esc clears the filter"

# Selection by id while newer rows arrive above it: a small filtered list.
keys /
keys C-u
keys -l 'source=fresh-svc'
keys Enter
wait_screen '^10 rows · filter: source=fresh-svc' 5 "ten fresh-svc events"
keys j j
wait_until 2 "nav-118 selected, third line" "selected | grep -q nav-118"
assert_match 'nav-118' "$(screen_line 6)" "on the list's third line"
redis_q HSET dlq:nav-121 data '{"event_id": "nav-121", "failure_reason": "validation_failed", "source_service": "fresh-svc", "original_queue": "q"}' status pending_review >/dev/null
redis_q ZADD dlq:index "$(date +%s)" nav-121 >/dev/null
wait_screen '^11 rows · filter' 10 "the newer event arrives while the view is open"
assert_match 'nav-121' "$(screen_line 4)" "at the top"
assert_match 'nav-118' "$(selected)" "the selection stays on nav-118"
assert_eq 1 "$(selected | wc -l | tr -d ' ')" "still one row selected"
keys Escape

keys 2
wait_screen 'nav-saga-5' 5 "the sagas"
keys j
wait_until 2 "nav-saga-4 selected" "selected | grep -q nav-saga-4"
psql_q "SELECT wf.save_saga(jsonb_build_object('execution_id', 'nav-saga-6', 'saga_id', 'nav',
    'status', 'running', 'context', '{}'::jsonb, 'started_at', now(), 'completed_at', NULL,
    'error', NULL, 'steps', '[]'::jsonb))" >/dev/null
wait_screen 'nav-saga-6' 5 "a new saga appears (LISTEN)"
assert_match 'nav-saga-6' "$(screen_line 4)" "on top"
assert_match 'nav-saga-4' "$(selected)" "the selection stays on nav-saga-4"

# The command line: completion, :theme, unknown names.
keys :
keys -l app
keys Tab
wait_screen '^:approvals' 2 ":app<Tab> completes to :approvals"
keys Enter
wait_screen '^ DUE +STATUS +TITLE' 5 "and Enter opens the Approvals"
assert_eq "fg=30 bg=47 rev=0" "$(cell_style 22 30)" "the default theme's hint bar: black on white"
keys : ; keys -l 'theme light'; keys Enter
wait_screen '^theme light' 2 ":theme light says so"
wait_until 2 "the hint bar is redrawn in the light theme (white on black)" \
    '[ "$(cell_style 22 30)" = "fg=37 bg=40 rev=0" ]'
keys : ; keys -l 'theme nosuch'; keys Enter
wait_screen 'nosuch' 2 ":theme nosuch is refused"
one_line "$(screen_line 23)" "the refusal"
assert_eq "fg=37 bg=40 rev=0" "$(cell_style 22 30)" "the light theme stays"
keys : ; keys -l 'frobnicate'; keys Enter
wait_screen "unknown command ':frobnicate'" 2 "an unknown command is named"

# Help lists the keys of the view, generated from the key table.
keys "?"
wait_screen '^ *Keys in Approvals' 2 "? opens the help"
s=$(screen)
assert_match 'PgDn' "$s" "it lists PgDn"
assert_match '  / +' "$s" "and the filter key"
keys Escape
wait_screen '^ DUE +STATUS +TITLE' 2 "Esc closes it"

# :q quits with status 0 and gives the terminal back.
keys : q Enter
wait_screen '^console exit 0' 5 ":q exits 0"
assert_eq 0 "$(tmx display -p -t c '#{alternate_on}')" "the alternate screen is left"
wait_screen '^tty: ' 5 "the wrapper read the terminal's modes"
assert_match '^tty: .*\becho\b' "$(screen)" "echo is on again"
assert_no_match '^tty: .*-(echo|icanon)' "$(screen)" "no mode left off"
assert_no_match 'opsdeck · |DUE +STATUS' "$(screen)" "no console frame is left on the screen"
keys -l 'typed-back'
wait_screen 'typed-back' 2 "what is typed is echoed"
finish
