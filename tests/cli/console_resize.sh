# A resize storm: 50 resizes between 40x10 and 200x60 as fast as tmux sends
# them, while the DLQ shows a list and its detail. The console survives,
# says "too small" below 60x16, draws its frame again at 80x24 and still
# answers keys; nothing reaches stderr.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
"$OPSDECK" sim --populate --dlq-events 300 --sagas 100 --approvals 20 --schedules 10 \
    --circuits 8 --seed 7 >/dev/null 2>&1 || fail "sim --populate"

console_start 120x40
keys 4
wait_screen '^[0-9]+ rows +page 1 ›' 10 "the DLQ at 120x40"
wait_screen '[│x] *event_id: ' 5 "with its detail beside it"

i=0
while [ "$i" -lt 50 ]; do
    if [ $((i % 2)) -eq 0 ]; then
        tmx resize-window -t c -x 40 -y 10
    else
        tmx resize-window -t c -x 200 -y 60
    fi
    i=$((i + 1))
done
ok "50 resizes sent"
console_alive || fail "the console died in the storm: $(cat "$TEST_TMP/console.err" 2>/dev/null)"
ok "the console is alive after the storm"

tmx resize-window -t c -x 50 -y 12
wait_screen '^Terminal too small: 50x12' 5 "below the minimum it says so"
wait_screen 'opsdeck needs 60x16; q quits' 1 "and what it needs"
tmx resize-window -t c -x 59 -y 30
wait_screen '^Terminal too small: 59x30' 5 "one column short is still too small"
tmx resize-window -t c -x 80 -y 15
wait_screen '^Terminal too small: 80x15' 5 "one row short too"
keys 2
tmx resize-window -t c -x 80 -y 24
wait_screen '^ opsdeck · default · tester .*pg up  redis up' 5 "back at 80x24 the header"
wait_screen ' 1 Ovw +2 Sagas +3 Appr' 5 "the tabs"
wait_screen '^ R replay +v resolve +D delete +E export +Enter detail +/ filter' 5 "the hints, the view's actions first"
assert_match '^ FAILED +REASON +STATUS +EVENT' "$(screen_line 3)" "the DLQ list at 80 columns, its detail folded away"
assert_no_match 'event_id:' "$(screen)" "no detail beside the list"
assert_no_match 'too small' "$(screen)" "the too-small text is gone"

# Keys still work, in time.
keys 3
wait_screen '^ DUE +STATUS +TITLE' 1 "3 opens the Approvals"
keys 4 Enter
wait_screen '^ *event_id: ' 2 "Enter opens a detail"
tmx resize-window -t c -x 160 -y 50
wait_screen '^ FAILED +REASON .*[│x]' 5 "grown with a detail open: side by side"
tmx resize-window -t c -x 80 -y 24
keys Escape Escape
wait_screen '^ FAILED +REASON +STATUS +EVENT *$' 5 "back to the list"
keys 1
wait_screen '^ Alerts' 2 "the Overview"
console_alive || fail "the console died"
ok "alive"

keys q
wait_screen '^console exit 0' 5 "q quits with status 0 after it all"
assert_eq "" "$(cat "$TEST_TMP/console.err")" "nothing on stderr (sanitizers included)"
# Paging still works after the storm and the page keeps the size it was
# first read with (so the cursors of the pages before stay exact).
console_stop
console_start 80x24
keys 4
wait_screen '^50 rows +page 1 ›' 5 "a new console at 80x24: 50 rows"
i=0
while [ "$i" -lt 20 ]; do
    tmx resize-window -t c -x 200 -y 60
    tmx resize-window -t c -x 80 -y 24
    i=$((i + 1))
done
wait_screen '^ FAILED +REASON +STATUS +EVENT *$' 5 "back at 80x24 after 40 more resizes"
keys G j
wait_screen '^50 rows +page 2 ›' 5 "G j reads page 2, of the same size"
keys k
wait_screen '^50 rows +page 1 ›' 5 "k returns to page 1"
console_alive || fail "the console died"
ok "alive"
finish
