# The console on the terminals it supports (vt100, screen, tmux-256color
# when its terminfo exists, xterm-256color), in a non-UTF-8 locale (store
# text escaped, nothing but ASCII sent), with NO_COLOR, and refusing to
# start without a terminal.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
redis_q HSET dlq:cafe-1 data '{"event_id": "cafe-1", "failure_reason": "validation_failed", "error_message": "café ünïcode 東京", "retry_count": 1, "first_failure_time": "2026-11-23 17:52:16", "last_failure_time": "2026-11-23 17:52:16", "source_service": "svc", "target_service": "t", "original_queue": "q", "stack_trace": null, "context": {}, "original_event": {"name": "José"}}' \
    created_at 2026-11-23T17:52:16 status pending_review >/dev/null
redis_q ZADD dlq:index "$(date +%s)" cafe-1 >/dev/null
psql_q "SELECT wf.save_saga(jsonb_build_object('execution_id', 'term-saga', 'saga_id', 'terms',
    'status', 'running', 'context', '{}'::jsonb, 'started_at', now(), 'completed_at', NULL,
    'error', NULL, 'steps', '[]'::jsonb))" >/dev/null

terms="vt100 screen xterm-256color"
if infocmp tmux-256color >/dev/null 2>&1; then
    terms="$terms tmux-256color"
else
    echo "# no terminfo for tmux-256color here: not tried"
fi
for t in $terms; do
    console_start 80x24 TERM=$t
    wait_screen '^ +Sagas +running 1 ' 10 "$t: the Overview"
    wait_screen '^ +DLQ +depth 1 ' 5 "$t: both stores"
    # polled: under load a lane may show "waiting 1s" for a moment
    wait_screen '^ opsdeck · default · tester .*pg up  redis up$' 10 "$t: the header"
    assert_match '^ j move +Enter go to alert' "$(screen_line 22)" "$t: the hints"
    keys 4
    wait_screen '^ .* cafe-1 *$' 5 "$t: the DLQ"
    keys Enter
    wait_screen '^error_message: café ünïcode 東京$' 5 "$t: UTF-8 store text as it is"
    case $t in
    vt100)
        # no colours: mono (attributes only) whatever the theme
        assert_eq "" "$(screen_colours)" "$t: no colour anywhere"
        assert_eq "fg=- bg=- rev=1" "$(cell_style 0 3)" "$t: the header in reverse"
        ;;
    *)
        assert_match 'fg=[0-9]+ bg=[0-9]+' "$(cell_style 0 3)" "$t: the header in colour"
        ;;
    esac
    keys Escape q
    wait_screen '^console exit 0' 5 "$t: q quits with status 0"
    # the wrapper prints the modes a moment after the exit status
    wait_screen '^tty: ' 5 "$t: the wrapper read the terminal's modes"
    assert_match '^tty: icanon echo' "$(screen)" "$t: the terminal's modes restored"
    assert_eq "" "$(cat "$TEST_TMP/console.err")" "$t: nothing on stderr"
    console_stop
done

# NO_COLOR: mono on a colour terminal, and :theme keeps it so.
console_start 80x24 NO_COLOR=1
wait_screen '^ +Sagas +running 1 ' 10 "NO_COLOR: the Overview"
keys 4
wait_screen '^ .* cafe-1 *$' 5 "NO_COLOR: the DLQ"
assert_eq "" "$(screen_colours)" "NO_COLOR: no colour anywhere"
assert_match 'cafe-1' "$(selected)" "NO_COLOR: the selection is shown (reverse)"
keys : ; keys -l 'theme light'; keys Enter
wait_screen 'NO_COLOR is set\): mono stays' 2 "NO_COLOR: :theme light says mono stays"
assert_eq "" "$(screen_colours)" "NO_COLOR: still no colour"
keys q
wait_screen '^console exit 0' 5 "NO_COLOR: q quits with status 0"
console_stop

# A non-UTF-8 locale: store text escaped, the frame drawn, only ASCII sent.
raw=$TEST_TMP/raw.out
console_start 80x24 LANG=C LC_ALL=C
tmx pipe-pane -t c -o "cat >>'$raw'"
keys C-l
wait_screen '^ +Sagas +running 1 ' 10 "C locale: the Overview"
wait_screen '^ opsdeck .*default.* tester .*pg up  redis up$' 10 "C locale: the header"
assert_match '^ 1 (Overview|Ovw) +2 Sagas' "$(screen_line 1)" "C locale: the tabs"
line0=$(screen_line 0)
assert_match '^ j move +Enter go to alert' "$(screen_line 22)" "C locale: the hints"
keys 4
wait_screen '^ .* cafe-1 *$' 5 "C locale: the DLQ"
keys Enter
wait_screen 'error_message: caf\\u\{(00)?e9\} \\u\{(00)?fc\}n\\u\{(00)?ef\}code \\u\{6771\}\\u\{4eac\}' 5 \
    "C locale: non-ASCII store text escaped"
keys G
wait_screen 'name: Jos\\u\{(00)?e9\}' 5 "C locale: in the original event too"
keys Escape q
wait_screen '^console exit 0' 5 "C locale: q quits with status 0"
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(1 if any(b >= 0x80 for b in d) else 0)' "$raw" ||
    fail "C locale: a non-ASCII byte was sent: $(LC_ALL=C grep -a -o -P '[\x80-\xff]+.{0,10}' "$raw" | head -3 | od -c | head -3)"
ok "C locale: only ASCII was sent to the terminal"
console_stop

# No terminal: exit 2 with one line, and nothing drawn.
run
expect_rc 2 "stdin and stdout not a terminal"
one_line "$err" "the refusal"
assert_match '^opsdeck: the console needs a terminal' "$err" "it says why"
assert_eq "" "$out" "nothing on stdout"
tmx -f /dev/null new-session -d -s c -x 80 -y 24 \
    "sh -c '\"\$OPSDECK\" </dev/null 2>\"\$TEST_TMP/nostdin.err\"; echo \$? >\"\$TEST_TMP/nostdin.rc\"; exec cat'"
wait_until 5 "stdin not a terminal (stdout one): it exits" "[ -s '$TEST_TMP/nostdin.rc' ]"
assert_eq 2 "$(cat "$TEST_TMP/nostdin.rc")" "with status 2"
one_line "$(cat "$TEST_TMP/nostdin.err")" "its stderr"
assert_eq "" "$(tmx capture-pane -p -t c | tr -d '\n ')" "nothing drawn on the terminal"
console_stop

# A theme that does not exist: exit 2 before touching the screen, saying
# which theme was not found.
console_start 80x24 -- --theme nosuch
wait_screen '^console exit 2' 5 "--theme nosuch: exit 2"
one_line "$(cat "$TEST_TMP/console.err")" "its stderr"
if grep -q nosuch "$TEST_TMP/console.err"; then
    ok "it names the theme"
else
    bug "--theme nosuch: stderr does not say which theme: [$(cat "$TEST_TMP/console.err")]"
fi
console_stop

# The header's separators are the console's own text: outside UTF-8 they
# must fall back to ASCII, not show as escapes.
if printf '%s' "$line0" | grep -q '\\u{'; then
    bug "C locale: the header's own separators show as escapes: [$line0]"
else
    ok "C locale: the header's own separators are not escaped"
fi
check_bugs
finish
